#!/usr/bin/env python3
"""A small PKCS#11 driver (ctypes) for what pkcs11-tool cannot show about
the fault module: calls before C_Initialize, C_Initialize arguments, many
threads at once, and loading through p11-kit.

usage: p11f_driver.py MODULE prefinit | threads N | p11kit | reinsert STATE
Prints one line per check ("ok: ..." / "FAIL: ..."); exits 1 on a failure.
"""
import ctypes
import sys
import threading

CK_RV = ctypes.c_ulong
CKR_OK = 0
CKR_CRYPTOKI_NOT_INITIALIZED = 0x190
CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191
CKF_OS_LOCKING_OK = 2

# Index of each function in CK_FUNCTION_LIST after the version field.
IDX = {"C_Initialize": 0, "C_Finalize": 1, "C_GetInfo": 2,
       "C_GetFunctionList": 3, "C_GetSlotList": 4, "C_GetSlotInfo": 5,
       "C_GetTokenInfo": 6}

failed = False


def check(cond, what):
    global failed
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failed = True


class InitArgs(ctypes.Structure):
    _fields_ = [("CreateMutex", ctypes.c_void_p),
                ("DestroyMutex", ctypes.c_void_p),
                ("LockMutex", ctypes.c_void_p),
                ("UnlockMutex", ctypes.c_void_p),
                ("flags", ctypes.c_ulong),
                ("pReserved", ctypes.c_void_p)]


class Module:
    """The function list at address `fl`, called by index."""

    def __init__(self, fl):
        self.table = ctypes.cast(fl, ctypes.POINTER(ctypes.c_void_p))

    def fn(self, name, *argtypes):
        # Skip the CK_VERSION field, padded to one pointer.
        addr = self.table[1 + IDX[name]]
        return ctypes.CFUNCTYPE(CK_RV, *argtypes)(addr)

    def initialize(self, args=None):
        f = self.fn("C_Initialize", ctypes.c_void_p)
        return f(ctypes.cast(ctypes.pointer(args), ctypes.c_void_p) if args else None)

    def finalize(self):
        return self.fn("C_Finalize", ctypes.c_void_p)(None)

    def slots(self, present=1):
        f = self.fn("C_GetSlotList", ctypes.c_ubyte,
                    ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong))
        n = ctypes.c_ulong(0)
        rv = f(present, None, ctypes.byref(n))
        if rv != CKR_OK:
            return rv, []
        arr = (ctypes.c_ulong * max(n.value, 1))()
        rv = f(present, arr, ctypes.byref(n))
        return rv, list(arr[:n.value])

    def token_info(self, slot):
        f = self.fn("C_GetTokenInfo", ctypes.c_ulong, ctypes.c_void_p)
        buf = ctypes.create_string_buffer(512)
        return f(slot, buf)


def load_direct(path):
    lib = ctypes.CDLL(path)
    fl = ctypes.c_void_p()
    rv = lib.C_GetFunctionList(ctypes.byref(fl))
    check(rv == CKR_OK and fl.value, "C_GetFunctionList before C_Initialize")
    return Module(fl)


def test_prefinit(path):
    m = load_direct(path)
    rv, _ = m.slots()
    check(rv == CKR_CRYPTOKI_NOT_INITIALIZED,
          "C_GetSlotList before C_Initialize: CKR_CRYPTOKI_NOT_INITIALIZED (0x%x)" % rv)
    args = InitArgs(flags=CKF_OS_LOCKING_OK)
    check(m.initialize(args) == CKR_OK, "C_Initialize with CKF_OS_LOCKING_OK")
    check(m.initialize(args) == CKR_CRYPTOKI_ALREADY_INITIALIZED,
          "second C_Initialize: CKR_CRYPTOKI_ALREADY_INITIALIZED")
    rv, slots = m.slots()
    check(rv == CKR_OK and len(slots) > 0, "C_GetSlotList after C_Initialize")
    check(m.finalize() == CKR_OK, "C_Finalize")
    rv, _ = m.slots()
    check(rv == CKR_CRYPTOKI_NOT_INITIALIZED, "after C_Finalize: not initialized")
    check(m.initialize(None) == CKR_OK, "C_Initialize(NULL) again after C_Finalize")
    check(m.finalize() == CKR_OK, "C_Finalize again")


def test_threads(path, n):
    m = load_direct(path)
    check(m.initialize(InitArgs(flags=CKF_OS_LOCKING_OK)) == CKR_OK, "C_Initialize")
    rv, slots = m.slots()
    check(rv == CKR_OK and slots, "a token to work on")
    errors = []

    def worker():
        for _ in range(200):
            rv1, s = m.slots()
            rv2 = m.token_info(s[0]) if s else 0xdead
            if rv1 != CKR_OK or rv2 != CKR_OK:
                errors.append((rv1, rv2))
                return

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "%d threads x 200 calls all OK %s" % (n, errors[:3]))
    check(m.finalize() == CKR_OK, "C_Finalize")


def test_reinsert(path, state):
    """Run with REMOVE_PERSIST=1, STATE=state, REMOVE_AT=C_GetTokenInfo:1."""
    m = load_direct(path)
    check(m.initialize(None) == CKR_OK, "C_Initialize")
    rv, slots = m.slots()
    check(rv == CKR_OK and slots, "token present at first")
    rv = m.token_info(slots[0]) if slots else None
    check(rv == 0x32, "C_GetTokenInfo:1 removes: CKR_DEVICE_REMOVED (0x%x)" % (rv or 0))
    rv, gone = m.slots()
    check(rv == CKR_OK and not gone, "no token present after the removal")
    with open(state) as f:
        text = f.read()
    check("removed=1" in text, "state file records the removal")
    with open(state + ".new", "w") as f:
        f.write(text.replace("removed=1", "removed=0"))
    import os
    os.rename(state + ".new", state)
    rv, back = m.slots()
    check(rv == CKR_OK and back == slots, "cleared flag: token back in the same process")
    check(m.token_info(back[0]) == CKR_OK if back else False, "C_GetTokenInfo works again")
    check(m.finalize() == CKR_OK, "C_Finalize")


def test_p11kit(path):
    kit = ctypes.CDLL("libp11-kit.so.0")
    kit.p11_kit_module_load.restype = ctypes.c_void_p
    kit.p11_kit_module_load.argtypes = [ctypes.c_char_p, ctypes.c_int]
    kit.p11_kit_module_initialize.argtypes = [ctypes.c_void_p]
    kit.p11_kit_module_finalize.argtypes = [ctypes.c_void_p]
    kit.p11_kit_module_release.argtypes = [ctypes.c_void_p]
    fl = kit.p11_kit_module_load(path.encode(), 0)
    check(bool(fl), "p11_kit_module_load by path")
    if not fl:
        return
    check(kit.p11_kit_module_initialize(fl) == CKR_OK, "p11_kit_module_initialize")
    rv, slots = Module(fl).slots()
    check(rv == CKR_OK and len(slots) > 0, "C_GetSlotList through p11-kit")
    check(Module(fl).token_info(slots[0]) == CKR_OK if slots else False,
          "C_GetTokenInfo through p11-kit")
    check(kit.p11_kit_module_finalize(fl) == CKR_OK, "p11_kit_module_finalize")
    kit.p11_kit_module_release(fl)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    path, what = sys.argv[1], sys.argv[2]
    if what == "prefinit":
        test_prefinit(path)
    elif what == "threads":
        test_threads(path, int(sys.argv[3]) if len(sys.argv) > 3 else 8)
    elif what == "p11kit":
        test_p11kit(path)
    elif what == "reinsert" and len(sys.argv) > 3:
        test_reinsert(path, sys.argv[3])
    else:
        print(__doc__)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
