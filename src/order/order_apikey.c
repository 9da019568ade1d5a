/*
 * Where the CertCentral API key comes from: a file of mode 0600 (preferred)
 * or $QSCD_API_KEY.  Never argv.  The key goes into an HTTP header, so a
 * key with control characters (a second header smuggled in) is refused.
 */
#include "order.h"

#include <stdio.h>
#include <string.h>

#define API_KEY_ENV "QSCD_API_KEY"

static bool key_is_clean(const secret *key)
{
    for (size_t i = 0; i < key->len; i++) {
        unsigned char ch = (unsigned char)key->data[i];

        if (ch < 0x21 || ch == 0x7f)
            return false;
    }
    return key->len > 0;
}

secret *order_apikey_load(const char *key_file, order_err *err)
{
    /* Read (and scrub) the environment even when a file wins. */
    secret *from_env = secret_from_env(API_KEY_ENV);
    secret *key = NULL;
    char msg[512];

    if (key_file != NULL && *key_file != '\0') {
        secret_free(from_env);
        key = secret_from_file(key_file, "API key file", msg, sizeof(msg));
        if (key == NULL) {
            order_err_set(err, ORDER_ERR_INVALID, "%s", msg);
            return NULL;
        }
    } else {
        key = from_env;
    }
    if (key == NULL) {
        order_err_set(err, ORDER_ERR_NO_KEY,
                      "no CertCentral API key: no key file was named and " API_KEY_ENV
                      " is not set");
        return NULL;
    }
    if (!key_is_clean(key)) {
        secret_free(key);
        order_err_set(err, ORDER_ERR_INVALID,
                      "the API key from %s holds spaces or control characters; "
                      "it must be the key alone on one line",
                      key_file ? key_file : API_KEY_ENV);
        return NULL;
    }
    return key;
}
