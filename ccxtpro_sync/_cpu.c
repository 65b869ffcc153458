/*
 * The CPU the calling thread runs on: ccxtpro_sync._cpu.
 *
 * It is optional. ccxtpro_sync/_sync/follow.py asks for it when a reader rings a
 * parked dispatcher (about once per message at a steady rate), so that the
 * dispatcher wakes on the reader's CPU; without this module it calls glibc's
 * sched_getcpu through ctypes (several hundred ns more per call), and where
 * neither exists the dispatcher is not moved.
 *
 * cpu() -> int: sched_getcpu(), or -1 where it fails or the platform has none.
 */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#ifdef __linux__
#include <sched.h>
#endif

static PyObject *
cpu(PyObject *module, PyObject *unused)
{
#ifdef __linux__
    return PyLong_FromLong(sched_getcpu());
#else
    return PyLong_FromLong(-1);
#endif
}

static PyMethodDef methods[] = {
    {"cpu", cpu, METH_NOARGS, "cpu() -> int: the CPU the calling thread runs on, or -1."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "ccxtpro_sync._cpu",
    "The CPU the calling thread runs on (see _sync/follow.py).",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__cpu(void)
{
    return PyModule_Create(&module_def);
}
