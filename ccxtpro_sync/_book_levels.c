/*
 * The order book's per-level loop in C: ccxtpro_sync._book_levels.
 *
 * It is optional. ccxtpro_sync/_book_levels_py.py holds the same two functions in
 * Python; ccxtpro_sync/_orderbook.py takes this module when it imports (and the
 * CCXTPRO_SYNC_PURE_PYTHON variable is not set), the Python one otherwise.
 *
 * Both must give the same result bit for bit, errors included, so this file does
 * the Python version's operations in the Python version's order: the same dict
 * stores and lookups, `<` / `<=` comparisons (bisect_right to insert, bisect_left to
 * delete), unary minus for bid keys, truth tests of amounts. Exact floats skip the
 * generic calls (their C comparisons and negation give the identical results); any
 * other key type (Decimal, int) goes through the generic object protocol.
 *
 * Keys of a user type may run Python code in a comparison or a hash, which could
 * change the key list under us: every list index is checked against the list's
 * current size and every borrowed item is held while such code can run.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* a < b, or a <= b when `le`; -1 on error. */
static inline int
compare(PyObject *a, PyObject *b, int le)
{
    if (PyFloat_CheckExact(a) && PyFloat_CheckExact(b)) {
        double x = PyFloat_AS_DOUBLE(a), y = PyFloat_AS_DOUBLE(b);
        return le ? x <= y : x < y;
    }
    Py_INCREF(a);
    Py_INCREF(b);
    int r = PyObject_RichCompareBool(a, b, le ? Py_LE : Py_LT);
    Py_DECREF(a);
    Py_DECREF(b);
    return r;
}

/* keys[i] as a new reference, or NULL with IndexError (the list shrank). */
static inline PyObject *
item(PyObject *keys, Py_ssize_t i)
{
    if (i >= PyList_GET_SIZE(keys)) {
        PyErr_SetString(PyExc_IndexError, "list index out of range");
        return NULL;
    }
    PyObject *v = PyList_GET_ITEM(keys, i);
    Py_INCREF(v);
    return v;
}

/* bisect.insort_right(keys, key). */
static int
insort(PyObject *keys, PyObject *key)
{
    Py_ssize_t lo = 0, hi = PyList_GET_SIZE(keys);
    while (lo < hi) {
        Py_ssize_t mid = ((size_t)lo + hi) / 2;
        PyObject *v = item(keys, mid);
        if (v == NULL)
            return -1;
        int r = compare(key, v, 0);
        Py_DECREF(v);
        if (r < 0)
            return -1;
        if (r)
            hi = mid;
        else
            lo = mid + 1;
    }
    return PyList_Insert(keys, lo, key);
}

/* bisect.bisect_left(keys, key), or -1 on error. */
static Py_ssize_t
bisect_left(PyObject *keys, PyObject *key)
{
    Py_ssize_t lo = 0, hi = PyList_GET_SIZE(keys);
    while (lo < hi) {
        Py_ssize_t mid = ((size_t)lo + hi) / 2;
        PyObject *v = item(keys, mid);
        if (v == NULL)
            return -1;
        int r = compare(v, key, 0);
        Py_DECREF(v);
        if (r < 0)
            return -1;
        if (r)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* `-x`: a new reference. */
static inline PyObject *
negate(PyObject *x)
{
    if (PyFloat_CheckExact(x))
        return PyFloat_FromDouble(-PyFloat_AS_DOUBLE(x));
    return PyNumber_Negative(x);
}

/* `price, amount = level` with the interpreter's errors; new references. */
static int
unpack(PyObject *level, PyObject **price, PyObject **amount)
{
    if ((PyTuple_CheckExact(level) || PyList_CheckExact(level)) && Py_SIZE(level) == 2) {
        if (PyTuple_CheckExact(level)) {
            *price = PyTuple_GET_ITEM(level, 0);
            *amount = PyTuple_GET_ITEM(level, 1);
        }
        else {
            *price = PyList_GET_ITEM(level, 0);
            *amount = PyList_GET_ITEM(level, 1);
        }
        Py_INCREF(*price);
        Py_INCREF(*amount);
        return 0;
    }
    /* The general case, as the interpreter's unpacking of an iterable does it. */
    PyObject *it = PyObject_GetIter(level);
    if (it == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError) && Py_TYPE(level)->tp_iter == NULL
            && !PySequence_Check(level)) {
            PyErr_Format(PyExc_TypeError, "cannot unpack non-iterable %.200s object",
                         Py_TYPE(level)->tp_name);
        }
        return -1;
    }
    PyObject *got[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        got[i] = PyIter_Next(it);
        if (got[i] == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError,
                             "not enough values to unpack (expected 2, got %d)", i);
            goto error;
        }
    }
    PyObject *extra = PyIter_Next(it);
    if (extra != NULL) {
        Py_DECREF(extra);
#if PY_VERSION_HEX >= 0x030E0000
        /* 3.14 names the size of a sized sequence */
        if (PyList_CheckExact(level) || PyTuple_CheckExact(level)
            || PyDict_CheckExact(level)) {
            Py_ssize_t n = PyDict_CheckExact(level) ? PyDict_Size(level) : Py_SIZE(level);
            PyErr_Format(PyExc_ValueError,
                         "too many values to unpack (expected 2, got %zd)", n);
            goto error;
        }
#endif
        PyErr_SetString(PyExc_ValueError, "too many values to unpack (expected 2)");
        goto error;
    }
    if (PyErr_Occurred())
        goto error;
    Py_DECREF(it);
    *price = got[0];
    *amount = got[1];
    return 0;
error:
    Py_DECREF(it);
    Py_XDECREF(got[0]);
    Py_XDECREF(got[1]);
    return -1;
}

/* One level: store, insert, remove or ignore it. */
static int
apply_one(PyObject *qty, PyObject *keys, PyObject *bound, PyObject *key, PyObject *amount)
{
    int truth = PyObject_IsTrue(amount);
    if (truth < 0)
        return -1;
    if (truth) {
        int present = PyDict_Contains(qty, key);
        if (present < 0)
            return -1;
        if (present)
            return PyDict_SetItem(qty, key, amount);
        if (bound != Py_None) {
            int inside = compare(key, bound, 1);
            if (inside <= 0)
                return inside;
        }
        if (PyDict_SetItem(qty, key, amount) < 0)
            return -1;
        return insort(keys, key);
    }
    /* `qty.pop(key, None) is not None`: removing an absent level is a no-op. */
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *old = NULL;
    if (PyDict_Pop(qty, key, &old) < 0)
        return -1;
#else
    PyObject *old = _PyDict_Pop(qty, key, Py_None);
    if (old == NULL)
        return -1;
#endif
    int was = old != NULL && old != Py_None;
    Py_XDECREF(old);
    if (!was)
        return 0;
    Py_ssize_t at = bisect_left(keys, key);
    if (at < 0)
        return -1;
    return PySequence_DelItem(keys, at);
}

PyDoc_STRVAR(apply_levels_doc,
"apply_levels(qty, keys, bound, neg, limit, levels) -> bound\n\n"
"Apply absolute ``(price, amount)`` levels to one book side and return its new\n"
"bound. See ccxtpro_sync/_book_levels_py.py for the reference version.");

static PyObject *
apply_levels(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_Format(PyExc_TypeError, "apply_levels() takes 6 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *qty = args[0], *keys = args[1], *bound = args[2], *limit_obj = args[4];
    if (!PyDict_CheckExact(qty) || !PyList_CheckExact(keys)) {
        PyErr_SetString(PyExc_TypeError, "apply_levels() needs a dict and a list");
        return NULL;
    }
    int neg = PyObject_IsTrue(args[3]);
    if (neg < 0)
        return NULL;
    Py_ssize_t limit = -1;
    if (limit_obj != Py_None) {
        limit = PyLong_AsSsize_t(limit_obj);
        if (limit == -1 && PyErr_Occurred())
            return NULL;
    }
    PyObject *it = PyObject_GetIter(args[5]);
    if (it == NULL)
        return NULL;
    /* The caller's `bound` stays referenced by its own frame for the whole call. */
    PyObject *level;
    while ((level = PyIter_Next(it)) != NULL) {
        PyObject *price, *amount;
        int bad = unpack(level, &price, &amount);
        Py_DECREF(level);
        if (bad < 0)
            goto error;
        PyObject *key;
        if (neg) {
            key = negate(price);
            Py_DECREF(price);
            if (key == NULL) {
                Py_DECREF(amount);
                goto error;
            }
        }
        else {
            key = price;
        }
        int r = apply_one(qty, keys, bound, key, amount);
        Py_DECREF(key);
        Py_DECREF(amount);
        if (r < 0)
            goto error;
    }
    if (PyErr_Occurred())
        goto error;
    Py_DECREF(it);
    if (limit >= 0 && PyList_GET_SIZE(keys) > limit) {
        PyObject *far = PyList_GetSlice(keys, limit, PyList_GET_SIZE(keys));
        if (far == NULL)
            return NULL;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(far); i++) {
            if (PyDict_DelItem(qty, PyList_GET_ITEM(far, i)) < 0) {
                Py_DECREF(far);
                return NULL;
            }
        }
        Py_DECREF(far);
        if (PyList_SetSlice(keys, limit, PY_SSIZE_T_MAX, NULL) < 0)
            return NULL;
        Py_ssize_t n = PyList_GET_SIZE(keys);
        if (n == 0) {
            PyErr_SetString(PyExc_IndexError, "list index out of range");
            return NULL;
        }
        PyObject *last = PyList_GET_ITEM(keys, n - 1);
        Py_INCREF(last);
        return last;
    }
    Py_INCREF(bound);
    return bound;
error:
    Py_DECREF(it);
    return NULL;
}

PyDoc_STRVAR(top_levels_doc,
"top_levels(qty, keys, n, neg) -> list\n\n"
"``[[price, amount], ...]`` for the first ``n`` keys (all if ``n`` is None), prices\n"
"negated back when ``neg``. See ccxtpro_sync/_book_levels_py.py.");

static PyObject *
top_levels(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "top_levels() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *qty = args[0], *keys = args[1], *n_obj = args[2];
    if (!PyDict_CheckExact(qty) || !PyList_CheckExact(keys)) {
        PyErr_SetString(PyExc_TypeError, "top_levels() needs a dict and a list");
        return NULL;
    }
    int neg = PyObject_IsTrue(args[3]);
    if (neg < 0)
        return NULL;
    Py_ssize_t size = PyList_GET_SIZE(keys), stop = size;
    if (n_obj != Py_None) {
        /* keys[:n], negative n included. */
        Py_ssize_t n = PyNumber_AsSsize_t(n_obj, NULL);
        if (n == -1 && PyErr_Occurred())
            return NULL;
        if (n < 0)
            n = n + size < 0 ? 0 : n + size;
        stop = n < size ? n : size;
    }
    PyObject *out = PyList_New(stop);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < stop; i++) {
        PyObject *key = item(keys, i);
        if (key == NULL)
            goto error;
        PyObject *amount = PyDict_GetItemWithError(qty, key);
        if (amount == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetObject(PyExc_KeyError, key);
            Py_DECREF(key);
            goto error;
        }
        Py_INCREF(amount);
        PyObject *price = key;
        if (neg) {
            price = negate(key);
            Py_DECREF(key);
            if (price == NULL) {
                Py_DECREF(amount);
                goto error;
            }
        }
        PyObject *pair = PyList_New(2);
        if (pair == NULL) {
            Py_DECREF(price);
            Py_DECREF(amount);
            goto error;
        }
        PyList_SET_ITEM(pair, 0, price);
        PyList_SET_ITEM(pair, 1, amount);
        PyList_SET_ITEM(out, i, pair);
    }
    return out;
error:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"apply_levels", (PyCFunction)(void (*)(void))apply_levels, METH_FASTCALL, apply_levels_doc},
    {"top_levels", (PyCFunction)(void (*)(void))top_levels, METH_FASTCALL, top_levels_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef_Slot slots[] = {
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ccxtpro_sync._book_levels",
    .m_doc = "The order book's per-level loop in C (optional; see _book_levels_py).",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__book_levels(void)
{
    return PyModuleDef_Init(&module);
}
