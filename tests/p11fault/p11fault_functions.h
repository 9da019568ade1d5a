/*
 * p11fault_functions.h — every PKCS#11 2.40 function the module wraps, as an
 * X-macro list: X_FORWARD entries get a generated forwarder
 * (p11fault_forward.c), X_SPECIAL ones are written by hand because they
 * rewrite flags, count PIN tries or filter slots.  C_Initialize, C_Finalize
 * and C_GetFunctionList live in p11fault.c and are not listed.
 *
 * The second field is how the call behaves once the token is removed:
 *   P11F_SLOT     keeps working (the reader is still there)
 *   P11F_TOKEN    takes a slot id: CKR_TOKEN_NOT_PRESENT
 *   P11F_SESSION  takes a session: CKR_DEVICE_REMOVED
 *
 * Generated once from p11-kit's pkcs11.h; keep the parameter names intact,
 * the forwarders pass them on by name.
 */
#ifndef P11FAULT_FUNCTIONS_H
#define P11FAULT_FUNCTIONS_H

#define P11F_FUNCTIONS \
    X_FORWARD (C_GetInfo, P11F_SLOT,\
        (CK_INFO *info),\
        (info)) \
    X_SPECIAL (C_GetSlotList, P11F_SLOT,\
        (unsigned char token_present, CK_SLOT_ID *slot_list, unsigned long *count),\
        (token_present, slot_list, count)) \
    X_SPECIAL (C_GetSlotInfo, P11F_SLOT,\
        (CK_SLOT_ID slot_id, CK_SLOT_INFO *info),\
        (slot_id, info)) \
    X_SPECIAL (C_GetTokenInfo, P11F_TOKEN,\
        (CK_SLOT_ID slot_id, CK_TOKEN_INFO *info),\
        (slot_id, info)) \
    X_FORWARD (C_WaitForSlotEvent, P11F_SLOT,\
        (CK_FLAGS flags, CK_SLOT_ID *slot, void *reserved),\
        (flags, slot, reserved)) \
    X_FORWARD (C_GetMechanismList, P11F_TOKEN,\
        (CK_SLOT_ID slot_id, CK_MECHANISM_TYPE *mechanism_list, unsigned long *count),\
        (slot_id, mechanism_list, count)) \
    X_FORWARD (C_GetMechanismInfo, P11F_TOKEN,\
        (CK_SLOT_ID slot_id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info),\
        (slot_id, type, info)) \
    X_SPECIAL (C_InitToken, P11F_TOKEN,\
        (CK_SLOT_ID slot_id, unsigned char *pin, unsigned long pin_len, unsigned char *label),\
        (slot_id, pin, pin_len, label)) \
    X_SPECIAL (C_InitPIN, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *pin, unsigned long pin_len),\
        (session, pin, pin_len)) \
    X_SPECIAL (C_SetPIN, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *old_pin, unsigned long old_len, unsigned char *new_pin, unsigned long new_len),\
        (session, old_pin, old_len, new_pin, new_len)) \
    X_FORWARD (C_OpenSession, P11F_TOKEN,\
        (CK_SLOT_ID slot_id, CK_FLAGS flags, void *application, CK_NOTIFY notify, CK_SESSION_HANDLE *session),\
        (slot_id, flags, application, notify, session)) \
    X_FORWARD (C_CloseSession, P11F_SESSION,\
        (CK_SESSION_HANDLE session),\
        (session)) \
    X_FORWARD (C_CloseAllSessions, P11F_TOKEN,\
        (CK_SLOT_ID slot_id),\
        (slot_id)) \
    X_FORWARD (C_GetSessionInfo, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_SESSION_INFO *info),\
        (session, info)) \
    X_FORWARD (C_GetOperationState, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *operation_state, unsigned long *operation_state_len),\
        (session, operation_state, operation_state_len)) \
    X_FORWARD (C_SetOperationState, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *operation_state, unsigned long operation_state_len, CK_OBJECT_HANDLE encryption_key, CK_OBJECT_HANDLE authentication_key),\
        (session, operation_state, operation_state_len, encryption_key, authentication_key)) \
    X_SPECIAL (C_Login, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_USER_TYPE user_type, unsigned char *pin, unsigned long pin_len),\
        (session, user_type, pin, pin_len)) \
    X_FORWARD (C_Logout, P11F_SESSION,\
        (CK_SESSION_HANDLE session),\
        (session)) \
    X_SPECIAL (C_CreateObject, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_ATTRIBUTE *templ, unsigned long count, CK_OBJECT_HANDLE *object),\
        (session, templ, count, object)) \
    X_FORWARD (C_CopyObject, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE *templ, unsigned long count, CK_OBJECT_HANDLE *new_object),\
        (session, object, templ, count, new_object)) \
    X_FORWARD (C_DestroyObject, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object),\
        (session, object)) \
    X_FORWARD (C_GetObjectSize, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, unsigned long *size),\
        (session, object, size)) \
    X_SPECIAL (C_GetAttributeValue, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE *templ, unsigned long count),\
        (session, object, templ, count)) \
    X_SPECIAL (C_SetAttributeValue, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE *templ, unsigned long count),\
        (session, object, templ, count)) \
    X_FORWARD (C_FindObjectsInit, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_ATTRIBUTE *templ, unsigned long count),\
        (session, templ, count)) \
    X_SPECIAL (C_FindObjects, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE *object, unsigned long max_object_count, unsigned long *object_count),\
        (session, object, max_object_count, object_count)) \
    X_FORWARD (C_FindObjectsFinal, P11F_SESSION,\
        (CK_SESSION_HANDLE session),\
        (session)) \
    X_FORWARD (C_EncryptInit, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key),\
        (session, mechanism, key)) \
    X_FORWARD (C_Encrypt, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len, unsigned char *encrypted_data, unsigned long *encrypted_data_len),\
        (session, data, data_len, encrypted_data, encrypted_data_len)) \
    X_FORWARD (C_EncryptUpdate, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len, unsigned char *encrypted_part, unsigned long *encrypted_part_len),\
        (session, part, part_len, encrypted_part, encrypted_part_len)) \
    X_FORWARD (C_EncryptFinal, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *last_encrypted_part, unsigned long *last_encrypted_part_len),\
        (session, last_encrypted_part, last_encrypted_part_len)) \
    X_FORWARD (C_DecryptInit, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key),\
        (session, mechanism, key)) \
    X_FORWARD (C_Decrypt, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *encrypted_data, unsigned long encrypted_data_len, unsigned char *data, unsigned long *data_len),\
        (session, encrypted_data, encrypted_data_len, data, data_len)) \
    X_FORWARD (C_DecryptUpdate, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *encrypted_part, unsigned long encrypted_part_len, unsigned char *part, unsigned long *part_len),\
        (session, encrypted_part, encrypted_part_len, part, part_len)) \
    X_FORWARD (C_DecryptFinal, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *last_part, unsigned long *last_part_len),\
        (session, last_part, last_part_len)) \
    X_FORWARD (C_DigestInit, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_MECHANISM *mechanism),\
        (session, mechanism)) \
    X_FORWARD (C_Digest, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len, unsigned char *digest, unsigned long *digest_len),\
        (session, data, data_len, digest, digest_len)) \
    X_FORWARD (C_DigestUpdate, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len),\
        (session, part, part_len)) \
    X_FORWARD (C_DigestKey, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key),\
        (session, key)) \
    X_FORWARD (C_DigestFinal, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *digest, unsigned long *digest_len),\
        (session, digest, digest_len)) \
    X_SPECIAL (C_SignInit, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key),\
        (session, mechanism, key)) \
    X_SPECIAL (C_Sign, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len, unsigned char *signature, unsigned long *signature_len),\
        (session, data, data_len, signature, signature_len)) \
    X_FORWARD (C_SignUpdate, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len),\
        (session, part, part_len)) \
    X_FORWARD (C_SignFinal, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *signature, unsigned long *signature_len),\
        (session, signature, signature_len)) \
    X_FORWARD (C_SignRecoverInit, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key),\
        (session, mechanism, key)) \
    X_FORWARD (C_SignRecover, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len, unsigned char *signature, unsigned long *signature_len),\
        (session, data, data_len, signature, signature_len)) \
    X_FORWARD (C_VerifyInit, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key),\
        (session, mechanism, key)) \
    X_FORWARD (C_Verify, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len, unsigned char *signature, unsigned long signature_len),\
        (session, data, data_len, signature, signature_len)) \
    X_FORWARD (C_VerifyUpdate, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len),\
        (session, part, part_len)) \
    X_FORWARD (C_VerifyFinal, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *signature, unsigned long signature_len),\
        (session, signature, signature_len)) \
    X_FORWARD (C_VerifyRecoverInit, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key),\
        (session, mechanism, key)) \
    X_FORWARD (C_VerifyRecover, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *signature, unsigned long signature_len, unsigned char *data, unsigned long *data_len),\
        (session, signature, signature_len, data, data_len)) \
    X_FORWARD (C_DigestEncryptUpdate, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len, unsigned char *encrypted_part, unsigned long *encrypted_part_len),\
        (session, part, part_len, encrypted_part, encrypted_part_len)) \
    X_FORWARD (C_DecryptDigestUpdate, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *encrypted_part, unsigned long encrypted_part_len, unsigned char *part, unsigned long *part_len),\
        (session, encrypted_part, encrypted_part_len, part, part_len)) \
    X_FORWARD (C_SignEncryptUpdate, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len, unsigned char *encrypted_part, unsigned long *encrypted_part_len),\
        (session, part, part_len, encrypted_part, encrypted_part_len)) \
    X_FORWARD (C_DecryptVerifyUpdate, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *encrypted_part, unsigned long encrypted_part_len, unsigned char *part, unsigned long *part_len),\
        (session, encrypted_part, encrypted_part_len, part, part_len)) \
    X_FORWARD (C_GenerateKey, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_ATTRIBUTE *templ, unsigned long count, CK_OBJECT_HANDLE *key),\
        (session, mechanism, templ, count, key)) \
    X_FORWARD (C_GenerateKeyPair, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_ATTRIBUTE *public_key_template, unsigned long public_key_attribute_count, CK_ATTRIBUTE *private_key_template, unsigned long private_key_attribute_count, CK_OBJECT_HANDLE *public_key, CK_OBJECT_HANDLE *private_key),\
        (session, mechanism, public_key_template, public_key_attribute_count, private_key_template, private_key_attribute_count, public_key, private_key)) \
    X_FORWARD (C_WrapKey, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE wrapping_key, CK_OBJECT_HANDLE key, unsigned char *wrapped_key, unsigned long *wrapped_key_len),\
        (session, mechanism, wrapping_key, key, wrapped_key, wrapped_key_len)) \
    X_FORWARD (C_UnwrapKey, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE unwrapping_key, unsigned char *wrapped_key, unsigned long wrapped_key_len, CK_ATTRIBUTE *templ, unsigned long attribute_count, CK_OBJECT_HANDLE *key),\
        (session, mechanism, unwrapping_key, wrapped_key, wrapped_key_len, templ, attribute_count, key)) \
    X_FORWARD (C_DeriveKey, P11F_SESSION,\
        (CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE base_key, CK_ATTRIBUTE *templ, unsigned long attribute_count, CK_OBJECT_HANDLE *key),\
        (session, mechanism, base_key, templ, attribute_count, key)) \
    X_FORWARD (C_SeedRandom, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *seed, unsigned long seed_len),\
        (session, seed, seed_len)) \
    X_FORWARD (C_GenerateRandom, P11F_SESSION,\
        (CK_SESSION_HANDLE session, unsigned char *random_data, unsigned long random_len),\
        (session, random_data, random_len)) \
    X_FORWARD (C_GetFunctionStatus, P11F_SESSION,\
        (CK_SESSION_HANDLE session),\
        (session)) \
    X_FORWARD (C_CancelFunction, P11F_SESSION,\
        (CK_SESSION_HANDLE session),\
        (session))


#endif
