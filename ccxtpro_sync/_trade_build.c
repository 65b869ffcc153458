/*
 * A public trade's Trade built in one C call: ccxtpro_sync._trade_build.
 *
 * It is optional. ccxtpro_sync/_exchanges/binance/trade_stream.py builds every Trade in
 * Python when this module is missing (or CCXTPRO_SYNC_PURE_PYTHON is set); with it, a
 * float client's decoded @trade / @aggTrade payload becomes its Trade here: the id's
 * text, price and amount as float() gives them, the ISO datetime, the side and the
 * cost, and the Trade itself with the payload as info (allocated and filled as
 * msgspec's constructor does, without matching nine keywords to fields). In Python those steps cost about
 * 7,000 machine instructions per trade, most of it the interpreter's.
 *
 * trade() answers None, taking nothing, for anything it does not do exactly as the
 * Python path does: an event of another type or with a field of an unexpected type,
 * a price or amount that float() refuses or that is not finite. The caller then
 * goes through the Python path, which gives that input's result or its typed error.
 * So the two give the same Trade for every input (tests/unit/test_trade_build.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <float.h>
#include <stdint.h>

/* 9999-12-31T23:59:59.999Z in epoch milliseconds: the datetime module's limit, past
 * which _structures.iso8601 gives None. */
#define MAX_MS 253402300799999LL
#define N_KW 9

/* Where one wire struct type keeps the fields read here (msgspec stores a struct's
 * fields as object slots, read through member descriptors). */
typedef struct {
    PyTypeObject *type;
    Py_ssize_t id, price, quantity, time, maker;
} Layout;

static Layout layouts[2]; /* TradeEvent, AggTradeEvent */
static PyTypeObject *trade_type;
/* Where Trade keeps the fields set here, in the order of `names` below; then the
 * fields left None and the ones that start as a new empty list (fees). */
static Py_ssize_t set_at[N_KW];
#define MAX_OTHER 16
static Py_ssize_t none_at[MAX_OTHER], list_at[MAX_OTHER];
static Py_ssize_t n_none, n_list;
static const char *names[N_KW] = {"id",    "timestamp", "datetime", "symbol", "side",
                                  "price", "amount",    "cost",     "info"};
static PyObject *str_buy, *str_sell;

/* The offset of `type`'s object field `name`; -1 with an error if it is not a slot. */
static Py_ssize_t
slot_offset(PyTypeObject *type, const char *name)
{
    PyObject *descr = PyObject_GetAttrString((PyObject *)type, name);
    if (descr == NULL)
        return -1;
    Py_ssize_t offset = -1;
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type == T_OBJECT_EX)
            offset = member->offset;
    }
    Py_DECREF(descr);
    if (offset < 0)
        PyErr_Format(PyExc_TypeError, "%.200s.%s is not an object slot", type->tp_name, name);
    return offset;
}

/* `type`'s layout into `out`, its type a borrowed reference (prepare() takes one). */
static int
layout(Layout *out, PyObject *type, const char *id_field)
{
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "prepare() needs the wire struct types");
        return -1;
    }
    PyTypeObject *t = (PyTypeObject *)type;
    if ((out->id = slot_offset(t, id_field)) < 0 || (out->price = slot_offset(t, "price")) < 0
        || (out->quantity = slot_offset(t, "quantity")) < 0
        || (out->time = slot_offset(t, "trade_time")) < 0
        || (out->maker = slot_offset(t, "buyer_is_maker")) < 0)
        return -1;
    out->type = t;
    return 0;
}

/* The offsets of the fields named in `fields` (a tuple of str) into `out`. */
static Py_ssize_t
field_offsets(PyTypeObject *type, PyObject *fields, Py_ssize_t *out)
{
    if (!PyTuple_Check(fields) || PyTuple_GET_SIZE(fields) > MAX_OTHER) {
        PyErr_SetString(PyExc_TypeError, "prepare() needs tuples of field names");
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fields); i++) {
        const char *name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(fields, i));
        if (name == NULL || (out[i] = slot_offset(type, name)) < 0)
            return -1;
    }
    return PyTuple_GET_SIZE(fields);
}

/* prepare(Trade, TradeEvent, AggTradeEvent, none_fields, list_fields): where each
 * field lives, read once. Trade is built as msgspec's own constructor builds a
 * struct (tp_alloc, then every field slot set), which is only that constructor's
 * result for a struct type without GC support (gc=False) and without __post_init__,
 * whose fields are the nine set here, `none_fields` (default None) and
 * `list_fields` (default_factory=list): the caller checks the defaults, this the rest. */
static PyObject *
prepare(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyType_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError,
                        "prepare(Trade, TradeEvent, AggTradeEvent, none_fields, list_fields)");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)args[0];
    if (PyType_HasFeature(type, Py_TPFLAGS_HAVE_GC)
        || PyObject_HasAttrString(args[0], "__post_init__")) {
        PyErr_SetString(PyExc_TypeError, "prepare() needs a gc=False struct, no __post_init__");
        return NULL;
    }
    /* Everything is read into locals and kept only if all of it is right: a refused
     * type leaves the layout trade() uses as it was (half of another type's offsets
     * would have it write a Trade's fields into the wrong slots). */
    Py_ssize_t new_set_at[N_KW], new_none_at[MAX_OTHER], new_list_at[MAX_OTHER];
    Layout new_layouts[2];
    for (Py_ssize_t i = 0; i < N_KW; i++)
        if ((new_set_at[i] = slot_offset(type, names[i])) < 0)
            return NULL;
    Py_ssize_t nones = field_offsets(type, args[3], new_none_at);
    Py_ssize_t lists = nones < 0 ? -1 : field_offsets(type, args[4], new_list_at);
    if (lists < 0)
        return NULL;
    /* Each field once: a name given twice would leave another field's slot unset. */
    Py_ssize_t all[N_KW + 2 * MAX_OTHER], n_all = N_KW;
    memcpy(all, new_set_at, sizeof new_set_at);
    for (Py_ssize_t i = 0; i < nones; i++)
        all[n_all++] = new_none_at[i];
    for (Py_ssize_t i = 0; i < lists; i++)
        all[n_all++] = new_list_at[i];
    for (Py_ssize_t i = 0; i < n_all; i++)
        for (Py_ssize_t j = 0; j < i; j++)
            if (all[i] == all[j]) {
                PyErr_SetString(PyExc_TypeError, "prepare(): a field of Trade is named twice");
                return NULL;
            }
    PyObject *fields = PyObject_GetAttrString(args[0], "__struct_fields__");
    if (fields == NULL)
        return NULL;
    Py_ssize_t count = PyTuple_Check(fields) ? PyTuple_GET_SIZE(fields) : -1;
    Py_DECREF(fields);
    if (count != N_KW + nones + lists) {
        PyErr_SetString(PyExc_TypeError, "prepare(): not every field of Trade is named");
        return NULL;
    }
    if (layout(&new_layouts[0], args[1], "trade_id") < 0
        || layout(&new_layouts[1], args[2], "agg_trade_id") < 0)
        return NULL;
    /* The types prepared before are released last, once the new layout is whole. */
    PyObject *old[3] = {(PyObject *)layouts[0].type, (PyObject *)layouts[1].type,
                        (PyObject *)trade_type};
    for (int i = 0; i < 2; i++) {
        Py_INCREF(new_layouts[i].type);
        layouts[i] = new_layouts[i];
    }
    memcpy(set_at, new_set_at, sizeof set_at);
    memcpy(none_at, new_none_at, sizeof none_at);
    memcpy(list_at, new_list_at, sizeof list_at);
    n_none = nones;
    n_list = lists;
    Py_INCREF(type);
    trade_type = type;
    for (int i = 0; i < 3; i++)
        Py_XDECREF(old[i]);
    Py_RETURN_NONE;
}

static inline PyObject *
slot(PyObject *obj, Py_ssize_t offset)
{
    return *(PyObject **)((char *)obj + offset);
}

static inline void
two_digits(Py_UCS1 *at, long long value)
{
    at[0] = (Py_UCS1)('0' + value / 10);
    at[1] = (Py_UCS1)('0' + value % 10);
}

/* _structures.iso8601(ms) for 0 <= ms <= MAX_MS: "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static PyObject *
iso8601(long long ms)
{
    long long seconds = ms / 1000, millis = ms % 1000;
    long long days = seconds / 86400, rem = seconds % 86400;
    /* The proleptic Gregorian date of a day count (days since 1970-01-01, here >= 0),
     * in 400-year eras that start on March 1st. */
    long long z = days + 719468;
    long long era = z / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    long long day = doy - (153 * mp + 2) / 5 + 1;
    long long month = mp < 10 ? mp + 3 : mp - 9;
    long long year = yoe + era * 400 + (month <= 2);
    PyObject *text = PyUnicode_New(24, 127);
    if (text == NULL)
        return NULL;
    Py_UCS1 *c = PyUnicode_1BYTE_DATA(text);
    two_digits(c, year / 100);
    two_digits(c + 2, year % 100);
    c[4] = '-';
    two_digits(c + 5, month);
    c[7] = '-';
    two_digits(c + 8, day);
    c[10] = 'T';
    two_digits(c + 11, rem / 3600);
    c[13] = ':';
    two_digits(c + 14, rem / 60 % 60);
    c[16] = ':';
    two_digits(c + 17, rem % 60);
    c[19] = '.';
    c[20] = (Py_UCS1)('0' + millis / 100);
    two_digits(c + 21, millis % 100);
    c[23] = 'Z';
    return text;
}

/* Exact powers of ten: every one up to 1e22 is a double. */
static const double powers_of_ten[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* float(text) for Binance's plain decimals ("65000.12345678": ASCII digits, at most
 * one '.', at least one digit, nothing else) whose digits read as an integer M of at
 * most 2**53 with at most 22 after the point: M and 10**k are then both exact doubles
 * and one IEEE division rounds M / 10**k correctly, which is what strtod (float())
 * returns for the same text. -1.0 (no number is negative here) for every other text,
 * which then goes through float() itself. */
static double
plain_decimal(PyObject *text)
{
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
    /* Wider intermediates (x87) round the quotient twice: not always float()'s. */
    return -1.0;
#endif
    if (!PyUnicode_IS_COMPACT_ASCII(text))
        return -1.0;
    const unsigned char *c = (const unsigned char *)PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n == 0 || n > 40)
        return -1.0;
    uint64_t mantissa = 0;
    Py_ssize_t point = -1, digits = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char ch = c[i];
        if (ch >= '0' && ch <= '9') {
            if (mantissa > ((uint64_t)1 << 53) / 10 + 1) /* guards the multiply */
                return -1.0;
            mantissa = mantissa * 10 + (ch - '0');
            digits++;
        }
        else if (ch == '.' && point < 0)
            point = i;
        else
            return -1.0;
    }
    Py_ssize_t scale = point < 0 ? 0 : n - 1 - point;
    if (digits == 0 || mantissa > ((uint64_t)1 << 53) || scale > 22)
        return -1.0;
    return (double)mantissa / powers_of_ten[scale];
}

/* float(text) when finite; NULL without an error otherwise (float() refuses it, or it
 * is NaN or infinite: the Python path gives those their errors). */
static PyObject *
finite_number(PyObject *text)
{
    double plain = plain_decimal(text);
    if (plain >= 0.0)
        return PyFloat_FromDouble(plain);
    PyObject *number = PyFloat_FromString(text);
    if (number == NULL) {
        PyErr_Clear();
        return NULL;
    }
    if (!isfinite(PyFloat_AS_DOUBLE(number))) {
        Py_DECREF(number);
        return NULL;
    }
    return number;
}

/* str(id): written here for 0 <= id < 10**18 (every trade id), else str() itself. */
static PyObject *
id_text(PyObject *id)
{
    int overflow;
    long long value = PyLong_AsLongLongAndOverflow(id, &overflow);
    if (overflow || value < 0 || value >= 1000000000000000000LL)
        return PyObject_Str(id);
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    PyObject *text = PyUnicode_New(n, 127);
    if (text == NULL)
        return NULL;
    Py_UCS1 *c = PyUnicode_1BYTE_DATA(text);
    for (int i = 0; i < n; i++)
        c[i] = (Py_UCS1)digits[n - 1 - i];
    return text;
}

/* The layout of `event`'s type, or NULL when it is neither wire struct. */
static inline const Layout *
layout_of(PyObject *event)
{
    if (Py_IS_TYPE(event, layouts[1].type))
        return &layouts[1];
    if (Py_IS_TYPE(event, layouts[0].type))
        return &layouts[0];
    return NULL;
}

/* The Trade of `event` (laid out as `l`), a new reference; None (a new reference) for
 * one the Python path must take; NULL with an error when memory runs out. */
static PyObject *
build(PyObject *event, const Layout *l, PyObject *symbol, int plain_cost)
{
    PyObject *id = slot(event, l->id), *price_text = slot(event, l->price);
    PyObject *quantity_text = slot(event, l->quantity), *time = slot(event, l->time);
    PyObject *maker = slot(event, l->maker);
    if (id == NULL || !PyLong_CheckExact(id) || price_text == NULL
        || !PyUnicode_CheckExact(price_text) || quantity_text == NULL
        || !PyUnicode_CheckExact(quantity_text) || time == NULL || !PyLong_CheckExact(time)
        || (maker != Py_True && maker != Py_False))
        Py_RETURN_NONE;
    PyObject *result = NULL;
    PyObject *price = finite_number(price_text);
    if (price == NULL)
        Py_RETURN_NONE;
    PyObject *amount = finite_number(quantity_text);
    if (amount == NULL) {
        Py_DECREF(price);
        Py_RETURN_NONE;
    }
    int overflow;
    long long ms = PyLong_AsLongLongAndOverflow(time, &overflow);
    PyObject *datetime;
    if (overflow || ms < 0 || ms > MAX_MS) {
        datetime = Py_None; /* as iso8601: out of the datetime module's range */
        Py_INCREF(datetime);
    }
    else if ((datetime = iso8601(ms)) == NULL)
        goto done;
    PyObject *cost;
    if (plain_cost) {
        cost = PyFloat_FromDouble(PyFloat_AS_DOUBLE(price) * PyFloat_AS_DOUBLE(amount));
        if (cost == NULL)
            goto done;
    }
    else {
        cost = Py_None; /* a contract's: the caller's (parsers._cost) */
        Py_INCREF(cost);
    }
    PyObject *text_id = id_text(id);
    if (text_id == NULL) {
        Py_DECREF(cost);
        goto done;
    }
    /* id, timestamp, datetime, symbol, side, price, amount, cost, info: new references */
    PyObject *side = maker == Py_True ? str_sell : str_buy;
    PyObject *values[N_KW] = {text_id, time, datetime, symbol, side, price, amount, cost, event};
    Py_INCREF(time);
    Py_INCREF(symbol);
    Py_INCREF(side);
    Py_INCREF(event);
    datetime = price = amount = NULL; /* now in values */
    result = trade_type->tp_alloc(trade_type, trade_type->tp_itemsize); /* as msgspec */
    if (result == NULL) {
        for (int i = 0; i < N_KW; i++)
            Py_DECREF(values[i]);
        return NULL;
    }
    for (int i = 0; i < N_KW; i++)
        *(PyObject **)((char *)result + set_at[i]) = values[i];
    for (Py_ssize_t i = 0; i < n_none; i++) {
        Py_INCREF(Py_None);
        *(PyObject **)((char *)result + none_at[i]) = Py_None;
    }
    for (Py_ssize_t i = 0; i < n_list; i++) {
        PyObject *list = PyList_New(0);
        if (list == NULL) {
            Py_DECREF(result); /* its dealloc releases the fields set so far */
            return NULL;
        }
        *(PyObject **)((char *)result + list_at[i]) = list;
    }
done:
    Py_XDECREF(datetime);
    Py_XDECREF(price);
    Py_XDECREF(amount);
    return result;
}

static int
ready(void)
{
    if (trade_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_trade_build.prepare() was not called");
        return -1;
    }
    return 0;
}

/* trade(event, symbol, plain_cost) -> Trade | None (see the module's comment). */
static PyObject *
trade(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "trade(event, symbol, plain_cost)");
        return NULL;
    }
    if (ready() < 0)
        return NULL;
    const Layout *l = layout_of(args[0]);
    if (l == NULL)
        Py_RETURN_NONE;
    return build(args[0], l, args[1], args[2] == Py_True);
}

/* run(events, start, symbol, cursor, step) -> list of Trade: the spot trades (cost =
 * price * amount) of events[start:], in order, up to the first that trade() would
 * answer None for or, with a cursor (a gap filler's [last, next] list), whose id is
 * not cursor[1]; the cursor then moves past the last one taken (as the handler's
 * inline GapFiller.follows does, each next being id + step). What it stops at is
 * left for the per-trade handler, untouched: so the run and that handler one trade
 * at a time give the same trades and the same cursor. */
static PyObject *
run(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "run(events, start, symbol, cursor, step)");
        return NULL;
    }
    if (ready() < 0)
        return NULL;
    PyObject *events = args[0], *symbol = args[2], *cursor = args[3], *step = args[4];
    if (!PyList_Check(events) || (cursor != Py_None && !(PyList_CheckExact(cursor)
                                                          && PyList_GET_SIZE(cursor) == 2))) {
        PyErr_SetString(PyExc_TypeError, "run() needs a list of events and a cursor list or None");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    if (start == -1 && PyErr_Occurred())
        return NULL;
    if (start < 0) {
        PyErr_SetString(PyExc_ValueError, "run(): start must be >= 0");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    /* With a cursor: the id the next trade must have (owned), and the last taken. */
    PyObject *next = NULL, *last = NULL;
    if (cursor != Py_None) {
        next = PyList_GET_ITEM(cursor, 1);
        Py_INCREF(next);
    }
    for (Py_ssize_t i = start; i < PyList_GET_SIZE(events); i++) {
        PyObject *event = PyList_GET_ITEM(events, i);
        const Layout *l = layout_of(event);
        if (l == NULL)
            break;
        PyObject *id = slot(event, l->id);
        if (id == NULL || !PyLong_CheckExact(id))
            break; /* the handler's own path decides */
        Py_INCREF(event); /* held: a comparison may run code that changes the list */
        int same = next == NULL ? 1 : PyObject_RichCompareBool(id, next, Py_EQ);
        PyObject *made = same > 0 ? build(event, l, symbol, 1) : NULL;
        if (made != NULL && made != Py_None && next != NULL) {
            PyObject *after = PyNumber_Add(id, step);
            if (after == NULL)
                Py_CLEAR(made);
            else {
                Py_INCREF(id);
                Py_XSETREF(last, id);
                Py_SETREF(next, after);
            }
        }
        Py_DECREF(event);
        if (same == 0 || made == Py_None) {
            Py_XDECREF(made);
            break;
        }
        if (made == NULL)
            goto error;
        int failed = PyList_Append(out, made);
        Py_DECREF(made);
        if (failed)
            goto error;
    }
    if (last != NULL) { /* cursor[0] = last; cursor[1] = next */
        PyList_SetItem(cursor, 0, last); /* steals both */
        PyList_SetItem(cursor, 1, next);
    }
    else
        Py_XDECREF(next);
    return out;
error:
    Py_XDECREF(next);
    Py_XDECREF(last);
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"prepare", (PyCFunction)(void (*)(void))prepare, METH_FASTCALL,
     "prepare(Trade, TradeEvent, AggTradeEvent, none_fields, list_fields): where fields live."},
    {"trade", (PyCFunction)(void (*)(void))trade, METH_FASTCALL,
     "trade(event, symbol, plain_cost) -> Trade | None (None: take the Python path)."},
    {"run", (PyCFunction)(void (*)(void))run, METH_FASTCALL,
     "run(events, start, symbol, cursor, step) -> [Trade]: trade() over events[start:]\n"
     "(spot cost) up to the first it refuses or, with a cursor, that does not follow."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "ccxtpro_sync._trade_build",
    "A public trade's Trade in one C call (see binance/trade_stream.py).", -1, methods,
};

PyMODINIT_FUNC
PyInit__trade_build(void)
{
    str_buy = PyUnicode_InternFromString("buy");
    str_sell = PyUnicode_InternFromString("sell");
    if (str_buy == NULL || str_sell == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
