/*
 * A burst's consecutive frames of one bound combined stream, decoded in one C call:
 * ccxtpro_sync._stream_run.
 *
 * It is optional. ccxtpro_sync/_exchanges/binance/combined.py has the same loop in
 * Python (_payload_run), used when this module is missing or CCXTPRO_SYNC_PURE_PYTHON
 * is set. Per frame that loop's lines (the tuple unpacked, the name's bytes compared,
 * the decoder called, the stream compared, the payload appended) cost more than the
 * decode itself; here they are a few hundred machine instructions besides it.
 *
 * payloads(refused, messages, index, end, stream) -> list, `stream` being the bound
 * stream's (key, decode, name): for each frame
 * of messages[index:end] (a list of (opcode, bytes) tuples) in turn, while it is a
 * data frame (opcode 1 or 2) whose bytes hold `key` at NAME_START, which decode()
 * takes, and whose decoded .stream equals `name`: its decoded .data. It stops, taking
 * nothing more, at the first frame that is not; an exception of a type in `refused`
 * raised by decode() is such a stop (cleared), any other propagates, as in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Where a combined frame's stream name starts: after {"stream":" */
#define NAME_START 11
#define OP_BINARY 2

static PyObject *str_stream, *str_data;

static PyObject *
payloads(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "payloads(refused, messages, index, end, stream)");
        return NULL;
    }
    PyObject *refused = args[0], *messages = args[1], *stream_ = args[4];
    if (!PyList_Check(messages) || !PyTuple_Check(stream_) || PyTuple_GET_SIZE(stream_) != 3
        || !PyBytes_Check(PyTuple_GET_ITEM(stream_, 0))) {
        PyErr_SetString(PyExc_TypeError,
                        "payloads() needs a list of messages and a (bytes, decode, name) tuple");
        return NULL;
    }
    PyObject *key = PyTuple_GET_ITEM(stream_, 0), *decode = PyTuple_GET_ITEM(stream_, 1);
    PyObject *name = PyTuple_GET_ITEM(stream_, 2);
    Py_ssize_t index = PyLong_AsSsize_t(args[2]);
    if (index == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t end = PyLong_AsSsize_t(args[3]);
    if (end == -1 && PyErr_Occurred())
        return NULL;
    if (index < 0) {
        PyErr_SetString(PyExc_ValueError, "payloads(): index must be >= 0");
        return NULL;
    }
    const char *key_bytes = PyBytes_AS_STRING(key);
    Py_ssize_t key_size = PyBytes_GET_SIZE(key);
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    /* The list's size is read each time: decode() may run code that changes it. */
    for (; index < end && index < PyList_GET_SIZE(messages); index++) {
        PyObject *message = PyList_GET_ITEM(messages, index);
        if (!PyTuple_Check(message) || PyTuple_GET_SIZE(message) != 2)
            break;
        PyObject *opcode = PyTuple_GET_ITEM(message, 0), *data = PyTuple_GET_ITEM(message, 1);
        if (!PyLong_CheckExact(opcode) || !PyBytes_Check(data))
            break; /* anything unusual: the Python path reads it */
        long op = PyLong_AsLong(opcode);
        if (op == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            break;
        }
        if (op > OP_BINARY || PyBytes_GET_SIZE(data) < NAME_START + key_size
            || memcmp(PyBytes_AS_STRING(data) + NAME_START, key_bytes, key_size) != 0)
            break;
        Py_INCREF(message); /* held through decode(), which may change the list */
        PyObject *combined = PyObject_CallOneArg(decode, data);
        Py_DECREF(message);
        if (combined == NULL) {
            if (PyErr_ExceptionMatches(refused)) {
                PyErr_Clear();
                break;
            }
            goto error;
        }
        PyObject *stream = PyObject_GetAttr(combined, str_stream);
        if (stream == NULL) {
            Py_DECREF(combined);
            goto error;
        }
        int same = PyObject_RichCompareBool(stream, name, Py_EQ);
        Py_DECREF(stream);
        if (same <= 0) {
            Py_DECREF(combined);
            if (same < 0)
                goto error;
            break;
        }
        PyObject *payload = PyObject_GetAttr(combined, str_data);
        Py_DECREF(combined);
        if (payload == NULL)
            goto error;
        int failed = PyList_Append(out, payload);
        Py_DECREF(payload);
        if (failed)
            goto error;
    }
    return out;
error:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"payloads", (PyCFunction)(void (*)(void))payloads, METH_FASTCALL,
     "payloads(refused, messages, index, end, (key, decode, name)) -> list: the decoded\n"
     "payloads of one bound stream's consecutive frames (see the module's comment)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "ccxtpro_sync._stream_run",
    "One bound stream's consecutive frames decoded in one call (see binance/combined.py).",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__stream_run(void)
{
    str_stream = PyUnicode_InternFromString("stream");
    str_data = PyUnicode_InternFromString("data");
    if (str_stream == NULL || str_data == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
