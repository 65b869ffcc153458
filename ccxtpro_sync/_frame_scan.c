/*
 * The websocket frame parser's common case in C: ccxtpro_sync._frame_scan.
 *
 * It is optional. ccxtpro_sync/_core/frames.py parses every frame in Python when
 * this module is missing (or CCXTPRO_SYNC_PURE_PYTHON is set); with it, a run of
 * whole, unmasked, unfragmented text frames of at most 65,535 bytes (nearly every
 * market-data frame) is taken here, and the Python parser handles whatever this
 * stops at. In Python, reading four header bytes and slicing the payload cost about
 * 4,000 machine instructions per frame; here the bytes object and its tuple are
 * most of the cost.
 *
 * The scan only ever reads inside the buffer: every header byte and payload end is
 * checked against its size first. It stops, taking nothing, at the first frame that
 * is not of that kind or not all in the buffer, so its errors and partial frames are
 * the Python parser's to handle.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define OP_TEXT_FINAL 0x81

/* text_frames(buffer, pos, limit, out) -> the position after the frames taken. */
static PyObject *
text_frames(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "text_frames(buffer, pos, limit, out)");
        return NULL;
    }
    PyObject *buffer = args[0], *out = args[3];
    if (!PyBytes_Check(buffer) || !PyList_Check(out)) {
        PyErr_SetString(PyExc_TypeError, "text_frames needs bytes and a list");
        return NULL;
    }
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    /* clipped: a limit past the machine size limits nothing, as in Python */
    Py_ssize_t limit = PyNumber_AsSsize_t(args[2], NULL);
    if (limit == -1 && PyErr_Occurred())
        return NULL;
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(buffer);
    Py_ssize_t size = PyBytes_GET_SIZE(buffer);
    if (pos < 0 || pos > size) {
        PyErr_SetString(PyExc_ValueError, "text_frames: position outside the buffer");
        return NULL;
    }
    PyObject *opcode = PyLong_FromLong(1); /* OP_TEXT */
    if (opcode == NULL)
        return NULL;
    while (size - pos >= 2) {
        if (data[pos] != OP_TEXT_FINAL)
            break;
        Py_ssize_t length = data[pos + 1], head = 2;
        if (length == 126) {
            if (size - pos < 4)
                break;
            length = ((Py_ssize_t)data[pos + 2] << 8) | data[pos + 3];
            head = 4;
            if (length > limit)
                break;
        }
        else if (length > 126) /* a 64-bit length, or the mask bit: not ours */
            break;
        if (length > size - pos - head) /* not all in yet */
            break;
        PyObject *payload =
            PyBytes_FromStringAndSize((const char *)data + pos + head, length);
        if (payload == NULL)
            goto error;
        PyObject *message = PyTuple_New(2);
        if (message == NULL) {
            Py_DECREF(payload);
            goto error;
        }
        Py_INCREF(opcode);
        PyTuple_SET_ITEM(message, 0, opcode);
        PyTuple_SET_ITEM(message, 1, payload);
        int failed = PyList_Append(out, message);
        Py_DECREF(message);
        if (failed)
            goto error;
        pos += head + length;
    }
    Py_DECREF(opcode);
    return PyLong_FromSsize_t(pos);
error:
    Py_DECREF(opcode);
    return NULL;
}

static PyMethodDef methods[] = {
    {"text_frames", (PyCFunction)(void (*)(void))text_frames, METH_FASTCALL,
     "text_frames(buffer, pos, limit, out) -> pos: append (1, payload) for each whole,\n"
     "unmasked, unfragmented text frame of at most min(limit, 65535) bytes from pos on;\n"
     "return where the first other (or incomplete) frame begins."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "ccxtpro_sync._frame_scan",
    "The frame parser's common case in C (see ccxtpro_sync/_core/frames.py).", -1, methods,
};

PyMODINIT_FUNC
PyInit__frame_scan(void)
{
    return PyModule_Create(&module_def);
}
