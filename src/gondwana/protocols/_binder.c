/* The fast pass of the request binders (protocols/shapes.py), in C.
 *
 * shapes.py compiles each input shape into a Python closure; the compiler also builds a Node per
 * shape here that walks the same shape tree without a Python call per member. A node only ever
 * accepts what its closure would accept unchanged: structures, lists, maps, strings, integers and
 * booleans that pass every constraint are checked here, and blobs that the codec's strict decoder
 * takes are decoded here; anything else (a wrong type, a violation, a blob only the lenient decoder
 * takes, timestamps, doubles, documents, very deep nesting) is handed to the node's closure,
 * which answers exactly as it always did (converts, raises SerializationException, or raises
 * NeedPaths). With member paths asked for (path not None) the closure does all the work.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

enum { K_STRUCT, K_LIST, K_MAP, K_STRING, K_INTEGER, K_BOOLEAN, K_BLOB, K_OTHER };

/* Past this many nested containers the closures take over (they recurse in Python, and stop at
 * Python's recursion limit as before). */
#define MAX_DEPTH 64

static PyObject *NeedPaths; /* shapes.NeedPaths, given to configure() */

typedef struct Node {
    PyObject_HEAD
    int kind;
    PyObject *closure;      /* the Python binder of this shape */
    PyObject *members;      /* structure: dict member name -> Node */
    PyObject *required;     /* structure: tuple of member names */
    struct Node *item;      /* list: its member; map: its value */
    struct Node *key;       /* map: its key */
    Py_ssize_t min_size;    /* list, map, string: length limits */
    Py_ssize_t max_size;
    PyObject *allowed;      /* string: the enum's frozenset, or NULL */
    PyObject *fullmatch;    /* string: the pattern's bound fullmatch, or NULL */
    PyObject *lo, *hi;      /* integer: value limits, or NULL */
    PyObject *decode;       /* blob: the codec's strict decoder of a str, or NULL */
} Node;

static PyTypeObject NodeType;

static PyObject *bind(Node *node, PyObject *value, PyObject *errs, int depth);

static PyObject *delegate(Node *node, PyObject *value, PyObject *errs)
{
    return PyObject_CallFunctionObjArgs(node->closure, value, Py_None, errs, NULL);
}

static PyObject *need_paths(void)
{
    PyErr_SetNone(NeedPaths);
    return NULL;
}

/* Bind `value` to `child`, putting a converted value back with `store` (a dict key or list
 * index). 0 on success, -1 with an exception. */
static int bind_member(Node *child, PyObject *value, PyObject *errs, int depth,
                       PyObject *dict, PyObject *key, PyObject *list, Py_ssize_t index)
{
    PyObject *bound = bind(child, value, errs, depth);
    if (bound == NULL)
        return -1;
    if (bound == value) {
        Py_DECREF(bound);
        return 0;
    }
    if (dict != NULL) { /* replacing a value keeps the keys: safe while iterating */
        int rc = PyDict_SetItem(dict, key, bound);
        Py_DECREF(bound);
        return rc;
    }
    PyList_SET_ITEM(list, index, bound); /* steals bound */
    Py_DECREF(value);
    return 0;
}

static PyObject *bind_struct(Node *node, PyObject *value, PyObject *errs, int depth)
{
    Py_ssize_t pos = 0;
    PyObject *key, *item;
    while (PyDict_Next(value, &pos, &key, &item)) {
        PyObject *child = PyDict_GetItemWithError(node->members, key);
        if (child == NULL) {
            if (PyErr_Occurred())
                return NULL;
            continue;
        }
        if (item == Py_None)
            continue;
        Py_INCREF(item);
        int rc = bind_member((Node *)child, item, errs, depth, value, key, NULL, 0);
        Py_DECREF(item);
        if (rc < 0)
            return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(node->required);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *present = PyDict_GetItemWithError(value, PyTuple_GET_ITEM(node->required, i));
        if (present == NULL && PyErr_Occurred())
            return NULL;
        if (present == NULL || present == Py_None)
            return need_paths();
    }
    Py_INCREF(value);
    return value;
}

/* A list or map whose members are bound: itself, if its size is within the limits. */
static PyObject *sized(Node *node, PyObject *value, Py_ssize_t size)
{
    if (size < node->min_size || size > node->max_size)
        return need_paths();
    Py_INCREF(value);
    return value;
}

static PyObject *bind_list(Node *node, PyObject *value, PyObject *errs, int depth)
{
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
        PyObject *item = PyList_GET_ITEM(value, i);
        if (item == Py_None)
            return need_paths();
        Py_INCREF(item);
        int rc = bind_member(node->item, item, errs, depth, NULL, NULL, value, i);
        Py_DECREF(item);
        if (rc < 0)
            return NULL;
    }
    return sized(node, value, PyList_GET_SIZE(value));
}

static PyObject *bind_map(Node *node, PyObject *value, PyObject *errs, int depth)
{
    Py_ssize_t pos = 0;
    PyObject *key, *item;
    while (PyDict_Next(value, &pos, &key, &item)) {
        Py_INCREF(key);
        Py_INCREF(item);
        PyObject *checked = bind(node->key, key, errs, depth);
        int rc = -1;
        if (checked != NULL) {
            Py_DECREF(checked); /* keys are checked, never replaced */
            if (item == Py_None)
                need_paths();
            else
                rc = bind_member(node->item, item, errs, depth, value, key, NULL, 0);
        }
        Py_DECREF(item);
        Py_DECREF(key);
        if (rc < 0)
            return NULL;
    }
    return sized(node, value, PyDict_GET_SIZE(value));
}

/* 1: the string passes every constraint; 0: it does not (or is no str); -1: an error. */
static int string_fits(Node *node, PyObject *value)
{
    if (!PyUnicode_CheckExact(value))
        return 0;
    Py_ssize_t length = PyUnicode_GET_LENGTH(value);
    if (length < node->min_size || length > node->max_size)
        return 0;
    if (node->allowed != NULL) {
        int found = PySet_Contains(node->allowed, value);
        if (found <= 0)
            return found;
    }
    if (node->fullmatch != NULL) {
        PyObject *match = PyObject_CallOneArg(node->fullmatch, value);
        if (match == NULL)
            return -1;
        int fits = match != Py_None;
        Py_DECREF(match);
        return fits;
    }
    return 1;
}

/* 1: an int within the limits; 0: not; -1: an error. */
static int integer_fits(Node *node, PyObject *value)
{
    if (!PyLong_CheckExact(value))
        return 0;
    if (node->lo != NULL) {
        int ok = PyObject_RichCompareBool(node->lo, value, Py_LE);
        if (ok <= 0)
            return ok;
    }
    if (node->hi != NULL) {
        int ok = PyObject_RichCompareBool(value, node->hi, Py_LE);
        if (ok <= 0)
            return ok;
    }
    return 1;
}

/* The decoded blob, or NULL: then the closure decides (any error here is cleared). */
static PyObject *decoded_blob(Node *node, PyObject *value)
{
    if (node->decode == NULL || !PyUnicode_CheckExact(value))
        return NULL;
    PyObject *data = PyObject_CallOneArg(node->decode, value);
    if (data == NULL) {
        if (PyErr_ExceptionMatches(PyExc_Exception))
            PyErr_Clear();
        return NULL;
    }
    Py_ssize_t size = PyBytes_Check(data) ? PyBytes_GET_SIZE(data) : -1;
    if (size < node->min_size || size > node->max_size) {
        Py_DECREF(data);
        return NULL;
    }
    return data;
}

static PyObject *bind(Node *node, PyObject *value, PyObject *errs, int depth)
{
    int fits;
    PyObject *data;
    switch (node->kind) {
    case K_STRUCT:
        if (!PyDict_CheckExact(value) || depth >= MAX_DEPTH)
            return delegate(node, value, errs);
        return bind_struct(node, value, errs, depth + 1);
    case K_LIST:
        if (!PyList_CheckExact(value) || depth >= MAX_DEPTH)
            return delegate(node, value, errs);
        return bind_list(node, value, errs, depth + 1);
    case K_MAP:
        if (!PyDict_CheckExact(value) || depth >= MAX_DEPTH)
            return delegate(node, value, errs);
        return bind_map(node, value, errs, depth + 1);
    case K_STRING:
        fits = string_fits(node, value);
        break;
    case K_INTEGER:
        fits = integer_fits(node, value);
        break;
    case K_BOOLEAN:
        fits = PyBool_Check(value);
        break;
    case K_BLOB:
        data = decoded_blob(node, value);
        if (data != NULL || PyErr_Occurred())
            return data;
        fits = 0;
        break;
    default:
        fits = 0;
    }
    if (fits < 0)
        return NULL;
    if (!fits)
        return delegate(node, value, errs);
    Py_INCREF(value);
    return value;
}

/* node(value, path, errs): the binder's signature (shapes.Binder). */
static PyObject *node_call(Node *node, PyObject *args, PyObject *kwargs)
{
    PyObject *value, *path, *errs;
    if (kwargs != NULL || !PyArg_UnpackTuple(args, "binder", 3, 3, &value, &path, &errs))
        return PyErr_Format(PyExc_TypeError, "a binder takes (value, path, errs)");
    if (path != Py_None)
        return PyObject_Call(node->closure, args, NULL);
    return bind(node, value, errs, 0);
}

static int node_init(Node *node, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"kind", "closure", NULL};
    const char *kind;
    PyObject *closure;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sO", names, &kind, &closure))
        return -1;
    static const char *kinds[] = {"structure", "list", "map", "string", "integer", "boolean", "blob",
                                  NULL};
    node->kind = K_OTHER;
    for (int i = 0; kinds[i] != NULL; i++)
        if (strcmp(kind, kinds[i]) == 0)
            node->kind = i;
    Py_INCREF(closure);
    Py_XSETREF(node->closure, closure);
    node->min_size = 0;
    node->max_size = PY_SSIZE_T_MAX;
    return 0;
}

static int set_ref(PyObject **slot, PyObject *value, PyTypeObject *type)
{
    if (value == Py_None) {
        Py_CLEAR(*slot);
        return 0;
    }
    if (type != NULL && !PyObject_TypeCheck(value, type)) {
        PyErr_Format(PyExc_TypeError, "expected %s", type->tp_name);
        return -1;
    }
    Py_INCREF(value);
    Py_XSETREF(*slot, value);
    return 0;
}

/* Everything but the kind and closure, once the children exist (shapes may be recursive). */
static PyObject *node_setup(Node *node, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"members", "required", "item", "key", "min_size", "max_size",
                            "allowed", "fullmatch", "lo", "hi", "decode", NULL};
    PyObject *members = Py_None, *required = Py_None, *item = Py_None, *key = Py_None;
    PyObject *allowed = Py_None, *fullmatch = Py_None, *lo = Py_None, *hi = Py_None;
    PyObject *decode = Py_None;
    Py_ssize_t min_size = 0, max_size = PY_SSIZE_T_MAX;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$OOOOnnOOOOO", names, &members, &required,
                                     &item, &key, &min_size, &max_size, &allowed, &fullmatch,
                                     &lo, &hi, &decode))
        return NULL;
    if (set_ref(&node->members, members, &PyDict_Type) < 0 ||
        set_ref(&node->required, required, &PyTuple_Type) < 0 ||
        set_ref((PyObject **)&node->item, item, &NodeType) < 0 ||
        set_ref((PyObject **)&node->key, key, &NodeType) < 0 ||
        set_ref(&node->allowed, allowed, &PyFrozenSet_Type) < 0 ||
        set_ref(&node->fullmatch, fullmatch, NULL) < 0 || set_ref(&node->lo, lo, NULL) < 0 ||
        set_ref(&node->hi, hi, NULL) < 0 || set_ref(&node->decode, decode, NULL) < 0)
        return NULL;
    node->min_size = min_size;
    node->max_size = max_size;
    int ready = (node->kind != K_STRUCT || (node->members && node->required)) &&
                (node->kind != K_LIST || node->item) &&
                (node->kind != K_MAP || (node->item && node->key));
    if (!ready)
        return PyErr_Format(PyExc_ValueError, "a node of this kind needs its children");
    Py_RETURN_NONE;
}

static int node_traverse(Node *node, visitproc visit, void *arg)
{
    Py_VISIT(node->closure);
    Py_VISIT(node->members);
    Py_VISIT(node->required);
    Py_VISIT(node->item);
    Py_VISIT(node->key);
    Py_VISIT(node->allowed);
    Py_VISIT(node->fullmatch);
    Py_VISIT(node->lo);
    Py_VISIT(node->hi);
    Py_VISIT(node->decode);
    return 0;
}

static int node_clear(Node *node)
{
    Py_CLEAR(node->closure);
    Py_CLEAR(node->members);
    Py_CLEAR(node->required);
    Py_CLEAR(node->item);
    Py_CLEAR(node->key);
    Py_CLEAR(node->allowed);
    Py_CLEAR(node->fullmatch);
    Py_CLEAR(node->lo);
    Py_CLEAR(node->hi);
    Py_CLEAR(node->decode);
    return 0;
}

static void node_dealloc(Node *node)
{
    PyObject_GC_UnTrack(node);
    node_clear(node);
    Py_TYPE(node)->tp_free((PyObject *)node);
}

static PyMethodDef node_methods[] = {
    {"setup", (PyCFunction)(void (*)(void))node_setup, METH_VARARGS | METH_KEYWORDS,
     "Set the node's children and constraints."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject NodeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gondwana.protocols._binder.Node",
    .tp_basicsize = sizeof(Node),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Node(kind, closure): one shape's binder, its fast pass in C.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)node_init,
    .tp_call = (ternaryfunc)node_call,
    .tp_traverse = (traverseproc)node_traverse,
    .tp_clear = (inquiry)node_clear,
    .tp_dealloc = (destructor)node_dealloc,
    .tp_methods = node_methods,
};

static PyObject *configure(PyObject *module, PyObject *need_paths_class)
{
    Py_INCREF(need_paths_class);
    Py_XSETREF(NeedPaths, need_paths_class);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"configure", configure, METH_O, "configure(NeedPaths): the exception of a violation."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef binder_module = {
    PyModuleDef_HEAD_INIT, "_binder", "The request binders' fast pass in C.", -1, module_methods,
};

PyMODINIT_FUNC PyInit__binder(void)
{
    if (PyType_Ready(&NodeType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&binder_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&NodeType);
    if (PyModule_AddObject(module, "Node", (PyObject *)&NodeType) < 0) {
        Py_DECREF(&NodeType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
