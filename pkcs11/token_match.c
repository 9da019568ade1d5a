/*
 * Which key on a token a certificate is for: the one whose public key the
 * certificate holds.  Every caller (identity before login, locating the
 * key, token list) asks here.
 */
#include "token_internal.h"

#include "x509.h"

const token_key *token_key_for_cert(const token_key_list *keys, X509 *cert)
{
    for (size_t i = 0; cert != NULL && keys != NULL && i < keys->count; i++)
        if (keys->items[i].pub != NULL && x509_key_matches(cert, keys->items[i].pub))
            return &keys->items[i];
    return NULL;
}
