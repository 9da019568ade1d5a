/*
 * The floor of `token install` for the benchmark: what installing one
 * certificate on a token cannot do without, and nothing else.
 *
 *   floor_install MODULE TOKEN_LABEL PIN_FILE CERT.der SUBJECT.der KEY_ID_HEX
 *
 * dlopen the module, C_Initialize, the slot whose token has that label,
 * C_OpenSession (read-write), C_Login, find the private key by CKA_ID,
 * C_CreateObject the certificate (CKA_VALUE, CKA_SUBJECT, CKA_ID), read its
 * CKA_VALUE back and compare.  No certificate parsing, no profile check, no
 * library beyond libc and the module: SUBJECT.der is cut out of the
 * certificate beforehand.  Linked on its own (Makefile), so the dynamic
 * loader's work is the module's only.  Exit 0 when the certificate read
 * back is the one written.
 */
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *slurp(const char *path, unsigned long *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) != NULL &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *len = (unsigned long)n;
    } else {
        free(buf);
        buf = NULL;
    }
    if (f != NULL)
        fclose(f);
    if (buf == NULL)
        fprintf(stderr, "floor_install: cannot read %s\n", path);
    return buf;
}

static int fail(const char *what, CK_RV rv)
{
    fprintf(stderr, "floor_install: %s: CKR 0x%lx\n", what, (unsigned long)rv);
    return 1;
}

static CK_SLOT_ID find_slot(CK_FUNCTION_LIST_PTR f, const char *label, int *found)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    CK_TOKEN_INFO ti;
    size_t len = strlen(label);

    *found = 0;
    if (f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        return 0;
    for (CK_ULONG i = 0; i < n; i++) {
        if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK || len > sizeof(ti.label) ||
            memcmp(ti.label, label, len) != 0 ||
            (len < sizeof(ti.label) && ti.label[len] != ' '))
            continue;
        *found = 1;
        return slots[i];
    }
    return 0;
}

static int install(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, unsigned char *cert,
                   unsigned long clen, unsigned char *subj, unsigned long slen,
                   unsigned char *id, unsigned long idlen)
{
    CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY, cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE x509 = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE find[] = { { CKA_CLASS, &priv, sizeof(priv) }, { CKA_ID, id, idlen } };
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof(cls) }, { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) },
        { CKA_TOKEN, &yes, sizeof(yes) }, { CKA_ID, id, idlen },
        { CKA_SUBJECT, subj, slen }, { CKA_VALUE, cert, clen },
    };
    CK_OBJECT_HANDLE key, obj;
    CK_ULONG n = 0;
    CK_RV rv;

    if ((rv = f->C_FindObjectsInit(s, find, 2)) != CKR_OK)
        return fail("C_FindObjectsInit", rv);
    rv = f->C_FindObjects(s, &key, 1, &n);
    f->C_FindObjectsFinal(s);
    if (rv != CKR_OK || n != 1)
        return fail("no private key with that CKA_ID", rv);
    if ((rv = f->C_CreateObject(s, tmpl, 6, &obj)) != CKR_OK)
        return fail("C_CreateObject", rv);
    unsigned char *back = malloc(clen);
    CK_ATTRIBUTE val = { CKA_VALUE, back, clen };

    if (back == NULL || (rv = f->C_GetAttributeValue(s, obj, &val, 1)) != CKR_OK ||
        val.ulValueLen != clen || memcmp(back, cert, clen) != 0) {
        free(back);
        return fail("the certificate read back differs", rv);
    }
    free(back);
    return 0;
}

int main(int argc, char **argv)
{
    CK_C_GetFunctionList get;
    CK_FUNCTION_LIST_PTR f;
    CK_SESSION_HANDLE s;
    unsigned char *cert, *subj, pin[256], id[64];
    unsigned long clen = 0, slen = 0, plen, idlen = 0;
    int found, rc;
    void *mod;
    CK_RV rv;

    if (argc != 7) {
        fprintf(stderr, "usage: floor_install MODULE TOKEN_LABEL PIN_FILE CERT.der SUBJECT.der KEY_ID_HEX\n");
        return 2;
    }
    FILE *pf = fopen(argv[3], "r");
    if (pf == NULL || fgets((char *)pin, sizeof(pin), pf) == NULL)
        return fail("cannot read the PIN file", 0);
    fclose(pf);
    plen = strcspn((char *)pin, "\r\n");
    for (const char *h = argv[6]; h[0] && h[1] && idlen < sizeof(id); h += 2)
        sscanf(h, "%2hhx", &id[idlen++]);
    if ((cert = slurp(argv[4], &clen)) == NULL || (subj = slurp(argv[5], &slen)) == NULL)
        return 1;
    if ((mod = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL ||
        (get = (CK_C_GetFunctionList)dlsym(mod, "C_GetFunctionList")) == NULL ||
        get(&f) != CKR_OK) {
        fprintf(stderr, "floor_install: %s: %s\n", argv[1], dlerror());
        return 1;
    }
    if ((rv = f->C_Initialize(NULL)) != CKR_OK)
        return fail("C_Initialize", rv);
    CK_SLOT_ID slot = find_slot(f, argv[2], &found);
    if (!found)
        return fail("no token with that label", 0);
    if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) != CKR_OK)
        return fail("C_OpenSession", rv);
    if ((rv = f->C_Login(s, CKU_USER, pin, plen)) != CKR_OK)
        return fail("C_Login", rv);
    memset(pin, 0, sizeof(pin));
    rc = install(f, s, cert, clen, subj, slen, id, idlen);
    f->C_Logout(s);
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    free(cert);
    free(subj);
    return rc;
}
