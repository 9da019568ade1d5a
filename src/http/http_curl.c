/*
 * libcurl by dlopen, once, when the first HTTP client is made (see
 * http_curl_int.h for why).  RTLD_LOCAL: its symbols serve this table only.
 */
#include "http.h"
#include "http_curl_int.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct http_curl_fns http_curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool loaded;
static char load_error[256];

#define SYM(field, name)                                                              \
    do {                                                                              \
        void *p_ = dlsym(lib, name);                                                  \
        if (p_ == NULL) {                                                             \
            snprintf(load_error, sizeof(load_error), "%s has no %s: %s", HTTP_CURL_SONAME, \
                     name, dlerror());                                                \
            return;                                                                   \
        }                                                                             \
        memcpy(&http_curl.field, &p_, sizeof(p_));                                    \
    } while (0)

static void load(void)
{
    void *lib = dlopen(HTTP_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

    if (lib == NULL) {
        snprintf(load_error, sizeof(load_error), "cannot load %s (package libcurl4): %s",
                 HTTP_CURL_SONAME, dlerror());
        return;
    }
    SYM(global_init, "curl_global_init");
    SYM(global_cleanup, "curl_global_cleanup");
    SYM(easy_init, "curl_easy_init");
    SYM(easy_cleanup, "curl_easy_cleanup");
    SYM(easy_setopt, "curl_easy_setopt");
    SYM(easy_getinfo, "curl_easy_getinfo");
    SYM(easy_perform, "curl_easy_perform");
    SYM(easy_strerror, "curl_easy_strerror");
    SYM(easy_escape, "curl_easy_escape");
    SYM(free, "curl_free");
    SYM(slist_append, "curl_slist_append");
    SYM(slist_free_all, "curl_slist_free_all");
    SYM(easy_header, "curl_easy_header");
    if (http_curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(load_error, sizeof(load_error), "%s: curl_global_init failed", HTTP_CURL_SONAME);
        return;
    }
    loaded = true;
}

bool http_curl_load(char *msg, size_t msglen)
{
    pthread_once(&load_once, load);
    if (!loaded && msg != NULL && msglen > 0)
        snprintf(msg, msglen, "%s", load_error);
    return loaded;
}

void http_library_release(void)
{
    if (loaded)
        http_curl.global_cleanup();
    loaded = false;
}
