/*
 * The order book's per-level loop in C: ccxtpro_sync._book_levels.
 *
 * It is optional. ccxtpro_sync/_book_levels_py.py holds the same two functions in
 * Python; ccxtpro_sync/_orderbook.py takes this module when it imports (and the
 * CCXTPRO_SYNC_PURE_PYTHON variable is not set), the Python one otherwise.
 *
 * Both must give the same result bit for bit, errors included, so this file does
 * the Python version's operations in the Python version's order: bisect_left with
 * `<`, an `==` test of the key found, truth tests of amounts, `>=` against the bound,
 * unary minus for ask keys, list inserts and deletes. Exact floats skip the generic
 * calls (their C comparisons and negation give the identical results, NaN included);
 * any other key type (Decimal, int) goes through the generic object protocol.
 *
 * Keys of a user type may run Python code in a comparison, which could change the
 * lists under us: every index is checked against the lists' current sizes and every
 * borrowed item is held while such code can run.
 *
 * pack_levels reads a depth diff's level array straight from the frame's JSON into
 * pairs of C doubles (a bytes object, 16 bytes a level), and apply_levels takes such
 * bytes as well as an iterable of pairs: a level that only changes an amount then
 * costs one float object, and a removal none.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* a < b, or a >= b when `ge`; -1 on error. */
static inline int
compare(PyObject *a, PyObject *b, int ge)
{
    if (PyFloat_CheckExact(a) && PyFloat_CheckExact(b)) {
        double x = PyFloat_AS_DOUBLE(a), y = PyFloat_AS_DOUBLE(b);
        return ge ? x >= y : x < y;
    }
    Py_INCREF(a);
    Py_INCREF(b);
    int r = PyObject_RichCompareBool(a, b, ge ? Py_GE : Py_LT);
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

/* `keys[at] == key` as the Python version's `if` sees it (no identity shortcut). */
static inline int
equal(PyObject *a, PyObject *b)
{
    if (PyFloat_CheckExact(a) && PyFloat_CheckExact(b))
        return PyFloat_AS_DOUBLE(a) == PyFloat_AS_DOUBLE(b);
    Py_INCREF(a);
    Py_INCREF(b);
    PyObject *r = PyObject_RichCompare(a, b, Py_EQ);
    Py_DECREF(a);
    Py_DECREF(b);
    if (r == NULL)
        return -1;
    int truth = PyObject_IsTrue(r);
    Py_DECREF(r);
    return truth;
}

/* `del seq[at]` for both lists (IndexError as Python's if a list is short). */
static int
delete_at(PyObject *keys, PyObject *amounts, Py_ssize_t at)
{
    if (PySequence_DelItem(keys, at) < 0)
        return -1;
    return PySequence_DelItem(amounts, at);
}

/* `seq[at] = amount`, with the IndexError of a short list. */
static int
store_at(PyObject *amounts, Py_ssize_t at, PyObject *amount)
{
    if (at >= PyList_GET_SIZE(amounts)) {
        PyErr_SetString(PyExc_IndexError, "list assignment index out of range");
        return -1;
    }
    PyObject *old = PyList_GET_ITEM(amounts, at);
    Py_INCREF(amount);
    PyList_SET_ITEM(amounts, at, amount);
    Py_DECREF(old);
    return 0;
}

/* One level: store, insert, remove or ignore it. */
static int
apply_one(PyObject *keys, PyObject *amounts, PyObject *bound, PyObject *key,
          PyObject *amount)
{
    Py_ssize_t at = bisect_left(keys, key);
    if (at < 0)
        return -1;
    int present = 0;
    if (at < PyList_GET_SIZE(keys)) {
        PyObject *found = PyList_GET_ITEM(keys, at);
        present = equal(found, key);
        if (present < 0)
            return -1;
    }
    int truth = PyObject_IsTrue(amount);
    if (truth < 0)
        return -1;
    if (present)
        return truth ? store_at(amounts, at, amount) : delete_at(keys, amounts, at);
    if (!truth)
        return 0; /* removing an absent level is normal */
    if (bound != Py_None) {
        int inside = compare(key, bound, 1);
        if (inside <= 0)
            return inside;
    }
    if (PyList_Insert(keys, at, key) < 0)
        return -1;
    return PyList_Insert(amounts, at, amount);
}

/* ---------------------------------------------------------------- packed levels */

#define PACK_MAX_NUMBER 64 /* longer spellings take the caller's general decoder */

static const double exact_pow10[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static inline const char *
skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* The value of the eight ASCII digits at p into *value, or 0 if one is not a digit.
   Byte-parallel (SWAR) on little-endian machines: a price's eight decimals in a few
   multiplications instead of eight rounds of the scalar loop. */
static inline int
eight_digits(const char *p, uint64_t *value)
{
#if PY_LITTLE_ENDIAN
    uint64_t v;
    memcpy(&v, p, 8); /* the first character in the low byte */
    const uint64_t high = 0xF0F0F0F0F0F0F0F0ULL, threes = 0x3030303030303030ULL;
    /* every high nibble 3, and no low nibble above 9 (adding 6 would carry out of it) */
    if ((v & high) != threes || ((v + 0x0606060606060606ULL) & high) != threes)
        return 0;
    v -= threes;                                     /* one digit a byte */
    v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFULL; /* two-digit numbers, 16-bit lanes */
    v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFULL; /* four digits, 32-bit lanes */
    *value = (v * 10000 + (v >> 32)) & 0xFFFFFFFFULL;
    return 1;
#else
    (void)p;
    (void)value;
    return 0;
#endif
}

/* Digits from p on, folded into *mantissa (mod 2**64: the caller counts the digits
   and takes the slow path past 19); returns where they stop. */
static inline const char *
digits_into(const char *p, const char *end, uint64_t *mantissa)
{
    uint64_t m = *mantissa, chunk;
    while (end - p >= 8 && eight_digits(p, &chunk)) {
        m = m * 100000000ULL + chunk;
        p += 8;
    }
    while (p < end && *p >= '0' && *p <= '9') {
        m = m * 10 + (uint64_t)(*p - '0');
        p++;
    }
    *mantissa = m;
    return p;
}

/* A quoted plain decimal at p: `"` (0 | [1-9][0-9]*) (`.` [0-9]+)? `"`. Sets *out and
   returns the position after the closing quote; NULL when the text is anything else
   (the caller's general decoder then decides, with its error). */
static const char *
quoted_decimal(const char *p, const char *end, double *out)
{
    if (p >= end || *p != '"')
        return NULL;
    const char *start = ++p;
    if (end - p >= 2 && p[0] == '0' && p[1] >= '0' && p[1] <= '9')
        return NULL; /* a leading zero */
    uint64_t mantissa = 0;
    p = digits_into(p, end, &mantissa);
    Py_ssize_t whole = p - start, fraction = 0;
    if (whole == 0)
        return NULL;
    if (p < end && *p == '.') {
        const char *point = ++p;
        p = digits_into(p, end, &mantissa);
        fraction = p - point;
        if (fraction == 0)
            return NULL;
    }
    Py_ssize_t len = p - start;
    if (p >= end || *p != '"' || len > PACK_MAX_NUMBER)
        return NULL;
    if (whole + fraction <= 19 && mantissa <= ((uint64_t)1 << 53) && fraction <= 22) {
        /* both exact as doubles: one correctly rounded division (or none) */
        double m = (double)mantissa;
        *out = fraction > 0 ? m / exact_pow10[fraction] : m;
    }
    else {
        char text[PACK_MAX_NUMBER + 1];
        memcpy(text, start, (size_t)len);
        text[len] = '\0';
        char *stop;
        double value = PyOS_string_to_double(text, &stop, NULL); /* correctly rounded */
        if (value == -1.0 && PyErr_Occurred())
            return NULL; /* cleared by the caller */
        if (stop != text + len || !isfinite(value))
            return NULL;
        *out = value;
    }
    return p + 1;
}

/* Parse `[["p","q"], ...]` at *pp into pairs, and set *pp past its `]`; returns the
   count, -2 when the text is outside the grammar, -1 on a memory error. *pairs may be
   grown with PyMem_Malloc/PyMem_Realloc (*on_heap is then set). */
static Py_ssize_t
scan_levels(const char **pp, const char *end, double **pairs, Py_ssize_t *capacity,
            int *on_heap)
{
    Py_ssize_t n = 0;
    const char *p = *pp;
    if (p >= end || *p++ != '[')
        return -2;
    p = skip_ws(p, end);
    if (p < end && *p == ']') {
        *pp = p + 1;
        return 0;
    }
    for (;;) {
        double price, amount;
        if (p >= end || *p++ != '[')
            return -2;
        p = quoted_decimal(skip_ws(p, end), end, &price);
        if (p == NULL)
            return -2;
        p = skip_ws(p, end);
        if (p >= end || *p++ != ',')
            return -2;
        p = quoted_decimal(skip_ws(p, end), end, &amount);
        if (p == NULL)
            return -2;
        p = skip_ws(p, end);
        if (p >= end || *p++ != ']')
            return -2;
        if (n == *capacity) {
            Py_ssize_t grown = *capacity * 2;
            double *bigger;
            if (*on_heap) {
                bigger = PyMem_Realloc(*pairs, (size_t)grown * 2 * sizeof(double));
            }
            else {
                bigger = PyMem_Malloc((size_t)grown * 2 * sizeof(double));
                if (bigger != NULL)
                    memcpy(bigger, *pairs, (size_t)n * 2 * sizeof(double));
            }
            if (bigger == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            *pairs = bigger;
            *capacity = grown;
            *on_heap = 1;
        }
        (*pairs)[2 * n] = price;
        (*pairs)[2 * n + 1] = amount;
        n++;
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == ']') {
            *pp = p + 1;
            return n;
        }
        return -2;
    }
}

/* The level array at *pp packed (a new bytes object), *pp set past it; NULL without
   an error set when the text is outside the grammar, NULL with one on failure. */
static PyObject *
packed_at(const char **pp, const char *end)
{
    double local[2 * 32];
    double *pairs = local;
    Py_ssize_t capacity = 32;
    int on_heap = 0;
    Py_ssize_t n = scan_levels(pp, end, &pairs, &capacity, &on_heap);
    PyObject *out = NULL;
    if (n >= 0)
        out = PyBytes_FromStringAndSize(n ? (const char *)pairs : "",
                                        n * 2 * (Py_ssize_t)sizeof(double));
    else if (n == -2)
        PyErr_Clear(); /* a spelling PyOS_string_to_double refused */
    if (on_heap)
        PyMem_Free(pairs);
    return out;
}

PyDoc_STRVAR(pack_levels_doc,
"pack_levels(text) -> bytes | None\n\n"
"The JSON level array ``text`` (``[[\"price\",\"amount\"], ...]``, quoted plain\n"
"decimals) as pairs of native doubles, 16 bytes a level; None when ``text`` is\n"
"anything else. See _book_levels_py.py for the reference version.");

static PyObject *
pack_levels(PyObject *module, PyObject *text)
{
    Py_buffer view;
    if (PyObject_GetBuffer(text, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const char *p = (const char *)view.buf, *end = p + view.len;
    p = skip_ws(p, end);
    PyObject *out = packed_at(&p, end);
    if (out != NULL && skip_ws(p, end) != end)
        Py_CLEAR(out); /* something after the array */
    PyBuffer_Release(&view);
    if (out == NULL && !PyErr_Occurred())
        return Py_NewRef(Py_None);
    return out;
}

/* --------------------------------------------------------------- depth frames */

/* A JSON string at p without escapes, control or non-ASCII characters: its text in
   *start and *len, and the position after it; NULL for anything else. */
static const char *
plain_string(const char *p, const char *end, const char **start, Py_ssize_t *len)
{
    if (p >= end || *p != '"')
        return NULL;
    const char *first = ++p;
    while (p < end && *p != '"') {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x20 || ch == '\\' || ch >= 0x7f)
            return NULL;
        p++;
    }
    if (p >= end)
        return NULL;
    *start = first;
    *len = p - first;
    return p + 1;
}

/* A JSON integer at p, no sign, at most 18 digits: *out and the position after it;
   NULL for anything else (a fraction or exponent included). */
static const char *
plain_int(const char *p, const char *end, long long *out)
{
    const char *first = p;
    long long v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        p++;
    }
    Py_ssize_t n = p - first;
    if (n == 0 || n > 18 || (n > 1 && *first == '0'))
        return NULL;
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
        return NULL;
    *out = v;
    return p;
}

/* `"word"` at p (after white space), then white space and `:`; NULL otherwise. */
static const char *
key_is(const char *p, const char *end, const char *word, Py_ssize_t len)
{
    p = skip_ws(p, end);
    if (end - p < len + 2 || p[0] != '"' || memcmp(p + 1, word, (size_t)len) != 0
        || p[len + 1] != '"')
        return NULL;
    p = skip_ws(p + len + 2, end);
    if (p >= end || *p != ':')
        return NULL;
    return skip_ws(p + 1, end);
}

enum {
    HAVE_e = 1, HAVE_E = 2, HAVE_s = 4, HAVE_U = 8, HAVE_u = 16, HAVE_b = 32, HAVE_a = 64,
    HAVE_T = 128, HAVE_pu = 256, HAVE_ps = 512,
    REQUIRED = HAVE_e | HAVE_E | HAVE_s | HAVE_U | HAVE_u | HAVE_b | HAVE_a,
};

/* The payload of a combined depth frame of stream `name` as the event tuple
   (U, u, pu, T, E, bids, asks) with packed levels; NULL without an error set when the
   frame is anything but a plain depthUpdate of that stream (the caller's general
   decoder then reads it), NULL with one on failure. */
static PyObject *
scan_depth(const char *p, const char *end, const char *name, Py_ssize_t name_len)
{
    const char *text;
    Py_ssize_t len;
    p = skip_ws(p, end);
    if (p >= end || *p++ != '{')
        return NULL;
    p = key_is(p, end, "stream", 6);
    if (p == NULL || (p = plain_string(p, end, &text, &len)) == NULL || len != name_len
        || memcmp(text, name, (size_t)len) != 0)
        return NULL;
    p = skip_ws(p, end);
    if (p >= end || *p++ != ',')
        return NULL;
    p = key_is(p, end, "data", 4);
    if (p == NULL || p >= end || *p++ != '{')
        return NULL;
    long long U = 0, u = 0, E = 0, T = 0, pu = 0;
    int have = 0;
    PyObject *bids = NULL, *asks = NULL;
    for (;;) {
        const char *key;
        Py_ssize_t key_len;
        p = plain_string(skip_ws(p, end), end, &key, &key_len);
        if (p == NULL)
            goto outside;
        p = skip_ws(p, end);
        if (p >= end || *p++ != ':')
            goto outside;
        p = skip_ws(p, end);
        int bit;
        long long *number = NULL;
        PyObject **side = NULL;
        if (key_len == 1) {
            switch (key[0]) {
            case 'e': bit = HAVE_e; break;
            case 's': bit = HAVE_s; break;
            case 'E': bit = HAVE_E; number = &E; break;
            case 'U': bit = HAVE_U; number = &U; break;
            case 'u': bit = HAVE_u; number = &u; break;
            case 'T': bit = HAVE_T; number = &T; break;
            case 'b': bit = HAVE_b; side = &bids; break;
            case 'a': bit = HAVE_a; side = &asks; break;
            default: goto outside;
            }
        }
        else if (key_len == 2 && key[0] == 'p' && key[1] == 'u') {
            bit = HAVE_pu;
            number = &pu;
        }
        else if (key_len == 2 && key[0] == 'p' && key[1] == 's') {
            bit = HAVE_ps;
        }
        else {
            goto outside; /* a key the event does not have */
        }
        if (have & bit)
            goto outside; /* a repeated key: the general decoder's rule */
        have |= bit;
        if (number != NULL) {
            p = plain_int(p, end, number);
        }
        else if (side != NULL) {
            *side = packed_at(&p, end);
            if (*side == NULL)
                goto outside; /* or failed: an error is set then */
        }
        else {
            p = plain_string(p, end, &text, &len);
        }
        if (p == NULL)
            goto outside;
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}')
            break;
        goto outside;
    }
    p = skip_ws(p + 1, end);
    if (p >= end || *p != '}' || skip_ws(p + 1, end) != end || (have & REQUIRED) != REQUIRED)
        goto outside;
    PyObject *prev = (have & HAVE_pu) ? PyLong_FromLongLong(pu) : Py_NewRef(Py_None);
    PyObject *tx = (have & HAVE_T) ? PyLong_FromLongLong(T) : Py_NewRef(Py_None);
    PyObject *event = NULL;
    if (prev != NULL && tx != NULL)
        event = Py_BuildValue("(LLOOLOO)", U, u, prev, tx, E, bids, asks);
    Py_XDECREF(prev);
    Py_XDECREF(tx);
    Py_DECREF(bids);
    Py_DECREF(asks);
    return event;
outside:
    Py_XDECREF(bids);
    Py_XDECREF(asks);
    return NULL;
}

PyDoc_STRVAR(depth_frame_doc,
"depth_frame(name, stream, combined, fallback, frame) -> combined\n\n"
"A combined-stream depthUpdate frame of the stream ``stream`` (spelled ``name``, bytes)\n"
"as ``combined(stream, (U, u, pu, T, E, bids, asks))`` with pack_levels' bids and asks;\n"
"``fallback(frame)`` for any frame it does not read (other keys, escapes, numbers or\n"
"spellings outside pack_levels' grammar, a null). Bind the first four with partial.");

static PyObject *
depth_frame(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "depth_frame() takes 5 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *name = args[0], *frame = args[4];
    if (!PyBytes_CheckExact(name)) {
        PyErr_SetString(PyExc_TypeError, "depth_frame() needs the stream name as bytes");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(frame, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const char *start = (const char *)view.buf;
    PyObject *event = scan_depth(start, start + view.len, PyBytes_AS_STRING(name),
                                 PyBytes_GET_SIZE(name));
    PyBuffer_Release(&view);
    if (event == NULL) {
        if (PyErr_Occurred())
            return NULL; /* out of memory */
        return PyObject_CallOneArg(args[3], frame);
    }
    PyObject *pair[2] = {args[1], event};
    PyObject *out = PyObject_Vectorcall(args[2], pair, 2, NULL);
    Py_DECREF(event);
    return out;
}

/* The packed fast path of one level: 1 done, 0 when a key or the bound is not an exact
   float (the caller then applies the level through apply_one, as Python would),
   -1 on error. No Python code runs before the lists are changed. */
static int
apply_packed_one(PyObject *keys, PyObject *amounts, PyObject *bound, double key,
                 double amount)
{
    Py_ssize_t lo = 0, hi = PyList_GET_SIZE(keys);
    while (lo < hi) {
        Py_ssize_t mid = ((size_t)lo + hi) / 2;
        PyObject *v = PyList_GET_ITEM(keys, mid);
        if (!PyFloat_CheckExact(v))
            return 0;
        if (PyFloat_AS_DOUBLE(v) < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    int present = 0;
    if (lo < PyList_GET_SIZE(keys)) {
        PyObject *found = PyList_GET_ITEM(keys, lo);
        if (!PyFloat_CheckExact(found))
            return 0;
        present = PyFloat_AS_DOUBLE(found) == key;
    }
    int truth = amount != 0.0; /* NaN is true, -0.0 false, as in Python */
    if (present) {
        if (!truth)
            return delete_at(keys, amounts, lo) < 0 ? -1 : 1;
        PyObject *value = PyFloat_FromDouble(amount);
        if (value == NULL)
            return -1;
        int r = store_at(amounts, lo, value);
        Py_DECREF(value);
        return r < 0 ? -1 : 1;
    }
    if (!truth)
        return 1;
    if (bound != Py_None) {
        if (!PyFloat_CheckExact(bound))
            return 0;
        if (!(key >= PyFloat_AS_DOUBLE(bound)))
            return 1;
    }
    PyObject *k = PyFloat_FromDouble(key);
    if (k == NULL)
        return -1;
    PyObject *q = PyFloat_FromDouble(amount);
    if (q == NULL) {
        Py_DECREF(k);
        return -1;
    }
    int r = PyList_Insert(keys, lo, k);
    if (r == 0)
        r = PyList_Insert(amounts, lo, q);
    Py_DECREF(k);
    Py_DECREF(q);
    return r < 0 ? -1 : 1;
}

/* apply_levels' loop over packed bytes: 0, or -1 on error. */
static int
apply_packed(PyObject *keys, PyObject *amounts, PyObject *bound, int neg, PyObject *packed)
{
    Py_ssize_t size = PyBytes_GET_SIZE(packed);
    if (size % (2 * (Py_ssize_t)sizeof(double))) {
        PyErr_SetString(PyExc_ValueError, "packed levels: length not a multiple of 16");
        return -1;
    }
    Py_ssize_t count = size / (2 * (Py_ssize_t)sizeof(double));
    const char *data = PyBytes_AS_STRING(packed); /* immutable, held by the caller */
    for (Py_ssize_t i = 0; i < count; i++) {
        double pair[2];
        memcpy(pair, data + i * 2 * sizeof(double), sizeof(pair));
        double key = neg ? -pair[0] : pair[0];
        int r = apply_packed_one(keys, amounts, bound, key, pair[1]);
        if (r < 0)
            return -1;
        if (r == 0) { /* the generic path, with the objects Python would have */
            PyObject *k = PyFloat_FromDouble(key);
            if (k == NULL)
                return -1;
            PyObject *q = PyFloat_FromDouble(pair[1]);
            if (q == NULL) {
                Py_DECREF(k);
                return -1;
            }
            r = apply_one(keys, amounts, bound, k, q);
            Py_DECREF(k);
            Py_DECREF(q);
            if (r < 0)
                return -1;
        }
    }
    return 0;
}

PyDoc_STRVAR(apply_levels_doc,
"apply_levels(keys, amounts, bound, neg, limit, levels) -> bound\n\n"
"Apply absolute ``(price, amount)`` levels (an iterable of pairs, or pack_levels'\n"
"bytes) to one book side and return its new bound. See\n"
"ccxtpro_sync/_book_levels_py.py for the reference version.");

static PyObject *
apply_levels(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_Format(PyExc_TypeError, "apply_levels() takes 6 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *keys = args[0], *amounts = args[1], *bound = args[2], *limit_obj = args[4];
    if (!PyList_CheckExact(keys) || !PyList_CheckExact(amounts)) {
        PyErr_SetString(PyExc_TypeError, "apply_levels() needs two lists");
        return NULL;
    }
    int neg = PyObject_IsTrue(args[3]);
    if (neg < 0)
        return NULL;
    Py_ssize_t limit = 0;
    int limited = limit_obj != Py_None;
    if (limited) {
        /* clipped: a limit past the machine size caps nothing, as in Python */
        limit = PyNumber_AsSsize_t(limit_obj, NULL);
        if (limit == -1 && PyErr_Occurred())
            return NULL;
    }
    if (PyBytes_CheckExact(args[5])) { /* pack_levels' pairs */
        if (apply_packed(keys, amounts, bound, neg, args[5]) < 0)
            return NULL;
        goto trim;
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
        int r = apply_one(keys, amounts, bound, key, amount);
        Py_DECREF(key);
        Py_DECREF(amount);
        if (r < 0)
            goto error;
    }
    if (PyErr_Occurred())
        goto error;
    Py_DECREF(it);
trim:
    if (limited && PyList_GET_SIZE(keys) > limit) {
        /* the worst levels are at the front */
        /* del keys[:len(keys) - limit]; del amounts[:len(amounts) - limit] */
        if (PySequence_DelSlice(keys, 0, PyList_GET_SIZE(keys) - limit) < 0
            || PySequence_DelSlice(amounts, 0, PyList_GET_SIZE(amounts) - limit) < 0)
            return NULL;
        if (PyList_GET_SIZE(keys) == 0) {
            PyErr_SetString(PyExc_IndexError, "list index out of range");
            return NULL;
        }
        PyObject *worst = PyList_GET_ITEM(keys, 0);
        Py_INCREF(worst);
        return worst;
    }
    Py_INCREF(bound);
    return bound;
error:
    Py_DECREF(it);
    return NULL;
}

PyDoc_STRVAR(top_levels_doc,
"top_levels(keys, amounts, n, neg) -> list\n\n"
"``[[price, amount], ...]`` best first (the lists' end) for the ``n`` best levels (all\n"
"if ``n`` is None), prices negated back when ``neg``. See _book_levels_py.py.");

static PyObject *
top_levels(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "top_levels() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *keys = args[0], *amounts = args[1], *n_obj = args[2];
    if (!PyList_CheckExact(keys) || !PyList_CheckExact(amounts)) {
        PyErr_SetString(PyExc_TypeError, "top_levels() needs two lists");
        return NULL;
    }
    int neg = PyObject_IsTrue(args[3]);
    if (neg < 0)
        return NULL;
    Py_ssize_t size = PyList_GET_SIZE(keys);
    if (PyList_GET_SIZE(amounts) != size) {
        PyErr_SetString(PyExc_RuntimeError,
                        "order book side out of step: keys and amounts differ in length");
        return NULL;
    }
    Py_ssize_t stop = size; /* how many levels, best first */
    if (n_obj != Py_None) {
        if (!PyIndex_Check(n_obj)) { /* the error of the Python version's slice */
            PyErr_SetString(PyExc_TypeError,
                            "slice indices must be integers or None or have an __index__ method");
            return NULL;
        }
        Py_ssize_t n = PyNumber_AsSsize_t(n_obj, NULL);
        if (n == -1 && PyErr_Occurred())
            return NULL;
        /* len(range(size)[:n]) */
        stop = n < 0 ? (n + size < 0 ? 0 : n + size) : (n < size ? n : size);
    }
    /* The Python version copies the lists' tails first. Where no Python code can run
       (no n.__index__, no negation of a key that is not an exact float) reading the
       lists in place is the same; otherwise they are copied as it does: n's __index__
       may have changed them since `size` was read, and a key's negation may change
       them again, which the copy does not see. */
    Py_ssize_t start = size - stop, k0 = start, q0 = start;
    int copy = n_obj != Py_None && !PyLong_CheckExact(n_obj);
    for (Py_ssize_t i = start; neg && !copy && i < size; i++)
        copy = !PyFloat_CheckExact(PyList_GET_ITEM(keys, i));
    PyObject *ks = keys, *qs = amounts;
    if (copy) {
        ks = PyList_GetSlice(keys, start, PY_SSIZE_T_MAX);
        if (ks == NULL)
            return NULL;
        qs = PyList_GetSlice(amounts, start, PY_SSIZE_T_MAX);
        if (qs == NULL) {
            Py_DECREF(ks);
            return NULL;
        }
        k0 = q0 = 0;
    }
    else {
        Py_INCREF(ks);
        Py_INCREF(qs);
    }
    Py_ssize_t nk = PyList_GET_SIZE(ks) - k0, nq = PyList_GET_SIZE(qs) - q0;
    Py_ssize_t count = nk < nq ? nk : nq;
    PyObject *out = PyList_New(count);
    if (out == NULL)
        goto error;
    for (Py_ssize_t i = 0; i < count; i++) { /* best (the tails' end) first */
        /* in place, only a finalizer run by an allocation could change the lists */
        if (k0 + nk > PyList_GET_SIZE(ks) || q0 + nq > PyList_GET_SIZE(qs)) {
            PyErr_SetString(PyExc_RuntimeError, "order book side changed during the copy");
            goto error;
        }
        PyObject *key = PyList_GET_ITEM(ks, k0 + nk - 1 - i);
        PyObject *amount = PyList_GET_ITEM(qs, q0 + nq - 1 - i);
        PyObject *price;
        if (neg) {
            price = negate(key);
            if (price == NULL)
                goto error;
        }
        else {
            price = Py_NewRef(key);
        }
        PyObject *pair = PyList_New(2);
        if (pair == NULL) {
            Py_DECREF(price);
            goto error;
        }
        PyList_SET_ITEM(pair, 0, price);
        PyList_SET_ITEM(pair, 1, Py_NewRef(amount));
        PyList_SET_ITEM(out, i, pair);
    }
    if (nk != nq) { /* zip(strict=True) in the Python version */
        PyErr_Format(PyExc_ValueError, "zip() argument 2 is %s than argument 1",
                     nk < nq ? "longer" : "shorter");
        goto error;
    }
    Py_DECREF(ks);
    Py_DECREF(qs);
    return out;
error:
    Py_XDECREF(out);
    Py_DECREF(ks);
    Py_DECREF(qs);
    return NULL;
}

static PyMethodDef methods[] = {
    {"apply_levels", (PyCFunction)(void (*)(void))apply_levels, METH_FASTCALL, apply_levels_doc},
    {"top_levels", (PyCFunction)(void (*)(void))top_levels, METH_FASTCALL, top_levels_doc},
    {"pack_levels", pack_levels, METH_O, pack_levels_doc},
    {"depth_frame", (PyCFunction)(void (*)(void))depth_frame, METH_FASTCALL, depth_frame_doc},
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
