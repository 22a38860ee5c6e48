/* The HTTP/1.1 fast path: one call parses one plain, complete request from a buffer.

   httptools calls back into Python a dozen times per request (URL, each header, body, end),
   which costs more than the rest of the HTTP layer. Most requests are plain: a request line,
   unique headers, a Content-Length body, all in one read. parse_request() takes exactly those
   and answers None for anything else (partial, chunked, upgrades, 100-continue, repeated
   headers, unusual bytes), which the caller then feeds to httptools. So this accepts a strict
   subset of what httptools accepts, and must give the same request for it (a differential
   test checks this, tests/test_http_fastpath.py). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define MAX_HEAD 65536 /* longer heads go to httptools, which enforces the real limit */
#define MAX_NAME 128
#define MAX_HEADERS 100

static unsigned char token_char[256]; /* RFC 9110 tchar */
#define NAME_CACHE 64 /* lower-cased header names seen before, as interned strings */
#define CACHED_NAME 32
static struct {
    Py_ssize_t len;
    char text[CACHED_NAME];
    PyObject *name;
} name_cache[NAME_CACHE];

static void init_tables(void) {
    const char *specials = "!#$%&'*+-.^_`|~";
    for (int c = 0; c < 256; c++) {
        token_char[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c && strchr(specials, c) != NULL);
    }
}

/* Branch-free scans, so the compiler vectorizes them: header values are most of a head. */

/* Whether [p, p+n) is all visible ASCII ('!' to '~'): a request target. */
static int visible(const char *p, Py_ssize_t n) {
    const unsigned char *u = (const unsigned char *)p;
    unsigned char bad = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        bad |= (unsigned char)(u[i] - 0x21) > 0x5d;
    return !bad;
}

/* Whether [p, p+n) is all visible ASCII, spaces and tabs: a header value. */
static int header_text(const char *p, Py_ssize_t n) {
    const unsigned char *u = (const unsigned char *)p;
    unsigned char bad = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        bad |= ((unsigned char)(u[i] - 0x20) > 0x5e) & (u[i] != '\t');
    return !bad;
}

/* Case-insensitive equality of [p, p+n) with a lower-case ASCII literal. */
static int equals_lower(const char *p, Py_ssize_t n, const char *literal) {
    Py_ssize_t m = (Py_ssize_t)strlen(literal);
    if (n != m)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != literal[i])
            return 0;
    }
    return 1;
}

/* A str from bytes known to be ASCII (the tables above admit nothing else): no decoding. */
static PyObject *ascii_str(const char *p, Py_ssize_t n) {
    PyObject *text = PyUnicode_New(n, 127);
    if (text != NULL)
        memcpy(PyUnicode_1BYTE_DATA(text), p, (size_t)n);
    return text;
}

/* The interned str for a lower-cased header name (a new reference), cached by its bytes. */
static PyObject *header_name(const char *lower, Py_ssize_t n) {
    unsigned int hash = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++)
        hash = (hash ^ (unsigned char)lower[i]) * 16777619u;
    unsigned int slot = hash % NAME_CACHE;
    if (name_cache[slot].name != NULL && name_cache[slot].len == n && memcmp(name_cache[slot].text, lower, (size_t)n) == 0) {
        Py_INCREF(name_cache[slot].name);
        return name_cache[slot].name;
    }
    PyObject *name = ascii_str(lower, n);
    if (name == NULL)
        return NULL;
    PyUnicode_InternInPlace(&name);
    if (n <= CACHED_NAME) {
        Py_XDECREF(name_cache[slot].name);
        Py_INCREF(name);
        name_cache[slot].name = name;
        name_cache[slot].len = n;
        memcpy(name_cache[slot].text, lower, (size_t)n);
    }
    return name;
}

/* The methods served here, and their interned strs; httptools refuses methods it does not know,
   so any other is left to it. */
static const char *const method_names[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"};
#define METHODS (sizeof method_names / sizeof method_names[0])
static PyObject *method_strs[METHODS];

static int method_index(const char *p, Py_ssize_t n) {
    for (size_t i = 0; i < METHODS; i++)
        if ((size_t)n == strlen(method_names[i]) && memcmp(p, method_names[i], (size_t)n) == 0)
            return (int)i;
    return -1;
}

/* parse_request(data, start, max_body) -> (method, path, query, headers, body, keep_alive, end)
   or None. `headers` maps lower-case names to values (ASCII only); `end` is the offset just past the
   request. */
static PyObject *parse_request(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyBytes_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "parse_request(data: bytes, start: int, max_body: int)");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    Py_ssize_t max_body = PyLong_AsSsize_t(args[2]);
    if ((start == -1 || max_body == -1) && PyErr_Occurred())
        return NULL;
    const char *data = PyBytes_AS_STRING(args[0]);
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
    if (start < 0 || start >= size)
        Py_RETURN_NONE;
    const char *p = data + start;
    /* Scans stop at the first byte outside their class, and a bytes object always ends in NUL,
       so reading up to data[size] is safe; memchr is bounded by `limit`. */
    const char *limit = p + (size - start < MAX_HEAD ? size - start : MAX_HEAD);

    /* Request line: METHOD SP origin-form-target SP HTTP/1.x CRLF */
    const char *line_end = memchr(p, '\r', (size_t)(limit - p));
    if (line_end == NULL || line_end[1] != '\n')
        Py_RETURN_NONE;
    const char *q = p;
    while (*q >= 'A' && *q <= 'Z')
        q++;
    int method = method_index(p, q - p);
    if (method < 0 || *q != ' ' || q[1] != '/')
        Py_RETURN_NONE;
    const char *target = ++q;
    if (line_end - target < 10) /* "/" at least, then " HTTP/1.x" */
        Py_RETURN_NONE;
    const char *target_end = line_end - 9;
    if (memcmp(target_end, " HTTP/1.", 8) != 0)
        Py_RETURN_NONE;
    if (!visible(target, target_end - target) || memchr(target, '#', (size_t)(target_end - target)) != NULL)
        Py_RETURN_NONE; /* spaces, control bytes, fragments: left to httptools */
    const char *question = memchr(target, '?', (size_t)(target_end - target));
    char minor = target_end[8];
    if (minor != '0' && minor != '1')
        Py_RETURN_NONE;
    int keep_alive = minor == '1';
    q = line_end + 2;

    PyObject *headers = _PyDict_NewPresized(16);
    if (headers == NULL)
        return NULL;
    Py_ssize_t count = 0;
    long long content_length = 0;
    char lower[MAX_NAME];
    while (q[0] != '\r' || q[1] != '\n') { /* an empty line ends the head */
        const char *name = q;
        while (token_char[(unsigned char)*q])
            q++;
        Py_ssize_t name_len = q - name;
        if (name_len == 0 || name_len > MAX_NAME || *q != ':')
            goto fallback;
        q++;
        while (*q == ' ' || *q == '\t')
            q++;
        const char *value = q;
        q = memchr(q, '\r', (size_t)(limit - q));
        if (q == NULL || q[1] != '\n')
            goto fallback;
        Py_ssize_t value_len = q - value;
        if (value_len == 0 || value[value_len - 1] == ' ' || value[value_len - 1] == '\t' ||
            !header_text(value, value_len))
            goto fallback;
        q += 2;
        for (Py_ssize_t i = 0; i < name_len; i++) {
            char c = name[i];
            lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        if (name_len == 14 && memcmp(lower, "content-length", 14) == 0) {
            if (value_len > 15)
                goto fallback;
            content_length = 0;
            for (Py_ssize_t i = 0; i < value_len; i++) {
                if (value[i] < '0' || value[i] > '9')
                    goto fallback;
                content_length = content_length * 10 + (value[i] - '0');
            }
        } else if (name_len == 10 && memcmp(lower, "connection", 10) == 0) {
            if (equals_lower(value, value_len, "keep-alive"))
                keep_alive = 1;
            else if (equals_lower(value, value_len, "close"))
                keep_alive = 0;
            else
                goto fallback;
        } else if ((name_len == 17 && memcmp(lower, "transfer-encoding", 17) == 0) ||
                   (name_len == 7 && memcmp(lower, "upgrade", 7) == 0) ||
                   (name_len == 6 && memcmp(lower, "expect", 6) == 0)) {
            goto fallback;
        }
        PyObject *key = header_name(lower, name_len);
        if (key == NULL)
            goto error;
        PyObject *value_str = ascii_str(value, value_len);
        if (value_str == NULL) {
            Py_DECREF(key);
            goto error;
        }
        int failed = PyDict_SetItem(headers, key, value_str);
        Py_DECREF(key);
        Py_DECREF(value_str);
        if (failed)
            goto error;
        if (++count > MAX_HEADERS || PyDict_GET_SIZE(headers) != count)
            goto fallback; /* a repeated header: httptools' path joins the values */
    }
    const char *head_end = q - 2;
    Py_ssize_t body_start = (head_end + 4) - data;
    if (content_length > max_body || content_length > size - body_start)
        goto fallback;
    Py_ssize_t end = body_start + (Py_ssize_t)content_length;

    const char *path_end = question != NULL ? question : target_end;
    PyObject *path = ascii_str(target, path_end - target);
    PyObject *query = question != NULL ? ascii_str(question + 1, target_end - question - 1) : ascii_str("", 0);
    PyObject *body = PyBytes_FromStringAndSize(data + body_start, (Py_ssize_t)content_length);
    if (path == NULL || query == NULL || body == NULL) {
        Py_XDECREF(path);
        Py_XDECREF(query);
        Py_XDECREF(body);
        goto error;
    }
    PyObject *result = PyTuple_New(7);
    if (result == NULL) {
        Py_DECREF(path);
        Py_DECREF(query);
        Py_DECREF(body);
        goto error;
    }
    Py_INCREF(method_strs[method]);
    PyTuple_SET_ITEM(result, 0, method_strs[method]);
    PyTuple_SET_ITEM(result, 1, path);
    PyTuple_SET_ITEM(result, 2, query);
    PyTuple_SET_ITEM(result, 3, headers);
    PyTuple_SET_ITEM(result, 4, body);
    PyTuple_SET_ITEM(result, 5, PyBool_FromLong(keep_alive));
    PyTuple_SET_ITEM(result, 6, PyLong_FromSsize_t(end));
    if (PyTuple_GET_ITEM(result, 6) == NULL) {
        Py_DECREF(result);
        return NULL;
    }
    return result;

fallback:
    Py_DECREF(headers);
    Py_RETURN_NONE;
error:
    Py_DECREF(headers);
    return NULL;
}

/* Append a str's latin-1 bytes (it must be one byte per character) or fail. */
static char *put_str(char *out, PyObject *text) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    memcpy(out, PyUnicode_1BYTE_DATA(text), (size_t)n);
    return out + n;
}

static int one_byte_str(PyObject *text) {
    return PyUnicode_CheckExact(text) && PyUnicode_KIND(text) == PyUnicode_1BYTE_KIND;
}

/* response(status_line, date_line, headers, body, keep_alive) -> bytes or None: the whole
   answer (status line, Date, headers, Connection: close unless kept alive, Content-Length, body)
   in one allocation; None for anything else than str lines, a list of (str, str) pairs of
   latin-1 text and a bytes body. */
static PyObject *response(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "response() takes 5 arguments");
        return NULL;
    }
    if (!one_byte_str(args[0]) || !one_byte_str(args[1]) || !PyList_CheckExact(args[2]) || !PyBytes_CheckExact(args[3]))
        Py_RETURN_NONE;
    PyObject *list = args[2], *body = args[3];
    int keep_alive = PyObject_IsTrue(args[4]);
    if (keep_alive < 0)
        return NULL;
    Py_ssize_t body_len = PyBytes_GET_SIZE(body);
    char length[32];
    int length_len = snprintf(length, sizeof length, "Content-Length: %zd\r\n\r\n", body_len);
    static const char close[] = "Connection: close\r\n";
    Py_ssize_t total = PyUnicode_GET_LENGTH(args[0]) + PyUnicode_GET_LENGTH(args[1]) + length_len + body_len +
                       (keep_alive ? 0 : (Py_ssize_t)sizeof close - 1);
    Py_ssize_t n = PyList_GET_SIZE(list);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyList_GET_ITEM(list, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2 || !one_byte_str(PyTuple_GET_ITEM(pair, 0)) ||
            !one_byte_str(PyTuple_GET_ITEM(pair, 1)))
            Py_RETURN_NONE;
        total += PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(pair, 0)) + PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(pair, 1)) + 4;
    }
    PyObject *result = PyBytes_FromStringAndSize(NULL, total);
    if (result == NULL)
        return NULL;
    char *out = PyBytes_AS_STRING(result);
    out = put_str(out, args[0]);
    out = put_str(out, args[1]);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyList_GET_ITEM(list, i);
        out = put_str(out, PyTuple_GET_ITEM(pair, 0));
        *out++ = ':';
        *out++ = ' ';
        out = put_str(out, PyTuple_GET_ITEM(pair, 1));
        *out++ = '\r';
        *out++ = '\n';
    }
    if (!keep_alive) {
        memcpy(out, close, sizeof close - 1);
        out += sizeof close - 1;
    }
    memcpy(out, length, (size_t)length_len);
    out += length_len;
    memcpy(out, PyBytes_AS_STRING(body), (size_t)body_len);
    return result;
}

static PyMethodDef methods[] = {
    {"response", (PyCFunction)(void (*)(void))response, METH_FASTCALL,
     "response(status_line, date_line, headers, body, keep_alive) -> bytes, or None for headers it "
     "cannot write"},
    {"parse_request", (PyCFunction)(void (*)(void))parse_request, METH_FASTCALL,
     "parse_request(data, start, max_body) -> (method, path, query, headers, body, keep_alive, end) "
     "for a plain complete request at data[start:], else None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastpath", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fastpath(void) {
    init_tables();
    for (size_t i = 0; i < METHODS; i++)
        if ((method_strs[i] = PyUnicode_InternFromString(method_names[i])) == NULL)
            return NULL;
    return PyModule_Create(&module);
}
