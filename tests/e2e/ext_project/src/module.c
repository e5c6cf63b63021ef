/* The module: value() returns what src/value.c computes (the test edits that file). */
#include <Python.h>

int twofiles_value(void);

static PyObject *
value(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(twofiles_value());
}

static PyMethodDef methods[] = {
    {"value", value, METH_NOARGS, "the value src/value.c returns"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_two", NULL, 0, methods};

PyMODINIT_FUNC
PyInit__two(void)
{
    return PyModule_Create(&module);
}
