/*
 * libcurl, loaded when the first HTTP client is made (http_curl.c), not
 * linked: most commands (every `token` one, `status` without --refresh)
 * never speak HTTP, and libcurl's chain of libraries (nghttp2, idn2,
 * ssh2, rtmp, psl, gssapi, ldap, ...) cost the dynamic loader about 10 M
 * instructions before main() in every run.  http.c is written against
 * libcurl's own names; this header maps them onto the loaded functions.
 */
#ifndef QSCD_HTTP_CURL_INT_H
#define QSCD_HTTP_CURL_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

/* The soname of Debian's libcurl4 (libcurl4-openssl-dev builds against it). */
#define HTTP_CURL_SONAME "libcurl.so.4"

struct http_curl_fns {
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *curl);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    CURLcode (*easy_perform)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    char *(*easy_escape)(CURL *curl, const char *string, int length);
    void (*free)(void *p);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
    void (*slist_free_all)(struct curl_slist *list);
    CURLHcode (*easy_header)(CURL *easy, const char *name, size_t index, unsigned int origin,
                             int request, struct curl_header **hout);
};

extern struct http_curl_fns http_curl;

/* Load libcurl and curl_global_init it, once per process (thread-safe).
 * false with msg saying why (the library or one of its functions missing). */
bool http_curl_load(char *msg, size_t msglen);

/* curl.h's typecheck wrappers are macros too: replace them all. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_init         http_curl.easy_init
#define curl_easy_cleanup      http_curl.easy_cleanup
#define curl_easy_setopt       http_curl.easy_setopt
#define curl_easy_getinfo      http_curl.easy_getinfo
#define curl_easy_perform      http_curl.easy_perform
#define curl_easy_strerror     http_curl.easy_strerror
#define curl_easy_escape       http_curl.easy_escape
#define curl_free              http_curl.free
#define curl_slist_append      http_curl.slist_append
#define curl_slist_free_all    http_curl.slist_free_all
#define curl_easy_header       http_curl.easy_header

#endif
