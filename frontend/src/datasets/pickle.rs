//! A restricted reader for exactly one kind of Python pickle: a one-dimensional numpy
//! *object* array whose elements are lists of integers, as `np.save` writes the ragged
//! sequences of `imdb.npz` (protocols 2 to 5).
//!
//! Nothing is executed: the opcodes build plain values (lists, tuples, strings, integers,
//! and calls recorded as data), and the result must have the shape of
//! `numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b')` with a
//! `BUILD` state `(version, (n,), dtype('O8'), fortran_order, [list, ...])`. Only the globals
//! Keras' `RestrictedUnpickler` allows may appear. Every size is bounded by the input: each
//! opcode consumes at least one byte, memo references share values instead of copying
//! them, and the values of a list of integers are stored as `i64`s.

use crate::error::{Error, Result};

/// The globals an object array's pickle may name (Keras' `_ALLOWED_PICKLE_GLOBALS`).
const ALLOWED_GLOBALS: &[(&str, &str)] = &[
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
];

/// A value on the stack: small values inline, everything else an index into the arena.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    Mark,
    None,
    Bool(bool),
    Int(i64),
    Obj(usize),
}

#[derive(Debug)]
enum Obj {
    /// A list whose items are all integers (the common case, stored compactly).
    IntList(Vec<i64>),
    List(Vec<Item>),
    Tuple(Vec<Item>),
    /// `str`, `bytes` (Python 3) or `str` (Python 2).
    Text(Vec<u8>),
    Global(&'static str, &'static str),
    /// `callable(*args)` recorded, with the state a `BUILD` gave it.
    Call {
        callable: Item,
        args: Item,
        state: Option<Item>,
    },
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    origin: &'a str,
    stack: Vec<Item>,
    arena: Vec<Obj>,
    memo: std::collections::HashMap<u32, Item>,
}

/// Reads the pickle of a numpy object array of integer lists; `origin` names the file and
/// member in errors.
pub(crate) fn object_array_of_int_lists(data: &[u8], origin: &str) -> Result<Vec<Vec<i64>>> {
    let mut m = Machine {
        data,
        pos: 0,
        origin,
        stack: Vec::new(),
        arena: Vec::new(),
        memo: Default::default(),
    };
    let top = m.run()?;
    m.extract(top)
}

impl<'a> Machine<'a> {
    fn err(&self, message: impl std::fmt::Display) -> Error {
        Error::config(
            self.origin,
            format!(
                "unsupported or corrupt pickle at byte {}: {message}",
                self.pos
            ),
        )
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| self.err(format!("truncated (needs {n} more bytes)")))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A length read from the file, checked against what is left of it.
    fn len(&mut self, n: u64) -> Result<usize> {
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.data.len() - self.pos)
            .ok_or_else(|| self.err(format!("a length of {n} bytes runs past the end")))
    }

    fn line(&mut self) -> Result<&'a [u8]> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .take(256)
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.err("a text argument without a newline in 256 bytes"))?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    fn push_obj(&mut self, obj: Obj) {
        self.arena.push(obj);
        self.stack.push(Item::Obj(self.arena.len() - 1));
    }

    fn pop(&mut self) -> Result<Item> {
        match self.stack.pop() {
            Some(Item::Mark) | None => Err(self.err("stack underflow")),
            Some(item) => Ok(item),
        }
    }

    /// The items above the topmost mark (the mark removed).
    fn pop_mark(&mut self) -> Result<Vec<Item>> {
        let at = self
            .stack
            .iter()
            .rposition(|i| *i == Item::Mark)
            .ok_or_else(|| self.err("no MARK"))?;
        let items = self.stack.split_off(at + 1);
        self.stack.pop();
        Ok(items)
    }

    fn global(&mut self, module: &[u8], name: &[u8]) -> Result<()> {
        let found = ALLOWED_GLOBALS
            .iter()
            .find(|(m, n)| m.as_bytes() == module && n.as_bytes() == name);
        match found {
            Some(&(m, n)) => {
                self.push_obj(Obj::Global(m, n));
                Ok(())
            }
            None => Err(self.err(format!(
                "refusing the global {}.{} (only numpy array reconstruction is allowed)",
                String::from_utf8_lossy(module),
                String::from_utf8_lossy(name)
            ))),
        }
    }

    fn text(&self, item: Item) -> Option<&[u8]> {
        match item {
            Item::Obj(i) => match &self.arena[i] {
                Obj::Text(t) => Some(t),
                _ => None,
            },
            _ => None,
        }
    }

    fn append(&mut self, list: Item, items: Vec<Item>) -> Result<()> {
        let Item::Obj(i) = list else {
            return Err(self.err("APPEND to a value that is not a list"));
        };
        match &mut self.arena[i] {
            Obj::IntList(v) => {
                if items.iter().all(|x| matches!(x, Item::Int(_))) {
                    v.extend(items.iter().map(|x| match x {
                        Item::Int(n) => *n,
                        _ => 0,
                    }));
                } else {
                    let mut all: Vec<Item> = v.iter().map(|&n| Item::Int(n)).collect();
                    all.extend(items);
                    self.arena[i] = Obj::List(all);
                }
            }
            Obj::List(v) => v.extend(items),
            _ => return Err(self.err("APPEND to a value that is not a list")),
        }
        Ok(())
    }

    /// Runs the opcodes up to STOP; returns the value left on the stack.
    fn run(&mut self) -> Result<Item> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    // PROTO
                    let v = self.u8()?;
                    if v > 5 {
                        return Err(self.err(format!("pickle protocol {v}")));
                    }
                }
                0x95 => {
                    // FRAME: a length hint only
                    self.u64()?;
                }
                b'.' => {
                    // STOP
                    let top = self.pop()?;
                    return Ok(top);
                }
                b'(' => self.stack.push(Item::Mark),
                b'N' => self.stack.push(Item::None),
                0x88 => self.stack.push(Item::Bool(true)),
                0x89 => self.stack.push(Item::Bool(false)),
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Item::Int(v as i64));
                }
                b'M' => {
                    let v = self.u16()?;
                    self.stack.push(Item::Int(v as i64));
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.stack.push(Item::Int(v as i64));
                }
                0x8a => {
                    // LONG1: n little-endian two's-complement bytes
                    let n = self.u8()? as usize;
                    if n > 8 {
                        return Err(self.err(format!("an integer of {n} bytes")));
                    }
                    let b = self.take(n)?;
                    let mut v: i64 = 0;
                    for (k, &byte) in b.iter().enumerate() {
                        v |= (byte as i64) << (8 * k);
                    }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.stack.push(Item::Int(v));
                }
                b'I' | b'L' => {
                    // INT / LONG (text, protocol 0; `I01`/`I00` are booleans)
                    let line = self.line()?;
                    let s = std::str::from_utf8(line).unwrap_or("");
                    let item = match s {
                        "01" => Item::Bool(true),
                        "00" => Item::Bool(false),
                        _ => Item::Int(
                            s.trim_end_matches('L')
                                .parse()
                                .map_err(|_| self.err(format!("not an integer: {s:?}")))?,
                        ),
                    };
                    self.stack.push(item);
                }
                b'U' | b'C' | 0x8c => {
                    // SHORT_BINSTRING, SHORT_BINBYTES, SHORT_BINUNICODE
                    let n = self.u8()? as u64;
                    let n = self.len(n)?;
                    let t = self.take(n)?.to_vec();
                    self.push_obj(Obj::Text(t));
                }
                b'T' | b'B' | b'X' => {
                    // BINSTRING, BINBYTES, BINUNICODE
                    let n = self.u32()? as u64;
                    let n = self.len(n)?;
                    let t = self.take(n)?.to_vec();
                    self.push_obj(Obj::Text(t));
                }
                0x8d | 0x8e => {
                    // BINUNICODE8, BINBYTES8
                    let n = self.u64()?;
                    let n = self.len(n)?;
                    let t = self.take(n)?.to_vec();
                    self.push_obj(Obj::Text(t));
                }
                b'c' => {
                    // GLOBAL module\nname\n
                    let module = self.line()?;
                    let name = self.line()?;
                    self.global(module, name)?;
                }
                0x93 => {
                    // STACK_GLOBAL
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Some(module), Some(name)) = (self.text(module), self.text(name)) else {
                        return Err(self.err("STACK_GLOBAL without two strings"));
                    };
                    let (module, name) = (module.to_vec(), name.to_vec());
                    self.global(&module, &name)?;
                }
                b')' => self.push_obj(Obj::Tuple(Vec::new())),
                0x85..=0x87 => {
                    // TUPLE1..TUPLE3
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n
                        || self.stack[self.stack.len() - n..].contains(&Item::Mark)
                    {
                        return Err(self.err("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push_obj(Obj::Tuple(items));
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push_obj(Obj::Tuple(items));
                }
                b']' => self.push_obj(Obj::IntList(Vec::new())),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push_obj(Obj::IntList(Vec::new()));
                    let list = self.pop()?;
                    self.append(list, items)?;
                    self.stack.push(list);
                }
                b'a' => {
                    let item = self.pop()?;
                    let list = self.pop()?;
                    self.append(list, vec![item])?;
                    self.stack.push(list);
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let list = self.pop()?;
                    self.append(list, items)?;
                    self.stack.push(list);
                }
                b'R' => {
                    // REDUCE: recorded, never called
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.push_obj(Obj::Call {
                        callable,
                        args,
                        state: None,
                    });
                }
                b'b' => {
                    // BUILD
                    let state = self.pop()?;
                    let target = self.pop()?;
                    match target {
                        Item::Obj(i) => match &mut self.arena[i] {
                            Obj::Call { state: s, .. } => *s = Some(state),
                            _ => return Err(self.err("BUILD on a value that is not an object")),
                        },
                        _ => return Err(self.err("BUILD on a value that is not an object")),
                    }
                    self.stack.push(target);
                }
                b'q' | b'r' | 0x94 => {
                    // BINPUT, LONG_BINPUT, MEMOIZE
                    let key = match op {
                        b'q' => self.u8()? as u32,
                        b'r' => self.u32()?,
                        _ => self.memo.len() as u32,
                    };
                    let top = *self
                        .stack
                        .last()
                        .filter(|i| **i != Item::Mark)
                        .ok_or_else(|| self.err("memoize with an empty stack"))?;
                    self.memo.insert(key, top);
                }
                b'h' | b'j' => {
                    // BINGET, LONG_BINGET
                    let key = if op == b'h' {
                        self.u8()? as u32
                    } else {
                        self.u32()?
                    };
                    let item = *self
                        .memo
                        .get(&key)
                        .ok_or_else(|| self.err(format!("memo key {key} was never stored")))?;
                    self.stack.push(item);
                }
                _ => {
                    self.pos -= 1;
                    return Err(self.err(format!("opcode 0x{op:02x} is not supported")));
                }
            }
        }
    }

    fn obj(&self, item: Item) -> Option<&Obj> {
        match item {
            Item::Obj(i) => self.arena.get(i),
            _ => None,
        }
    }

    fn tuple(&self, item: Item) -> Option<&[Item]> {
        match self.obj(item)? {
            Obj::Tuple(t) => Some(t),
            _ => None,
        }
    }

    fn is_global(&self, item: Item, module_suffix: &str, name: &str) -> bool {
        matches!(self.obj(item), Some(Obj::Global(m, n)) if m.ends_with(module_suffix) && *n == name)
    }

    /// Checks the numpy object-array structure and returns its elements.
    fn extract(&self, top: Item) -> Result<Vec<Vec<i64>>> {
        let bad = |what: &str| {
            Error::config(
                self.origin,
                format!("the pickle is not a numpy object array of integer lists: {what}"),
            )
        };
        let Some(Obj::Call {
            callable,
            args,
            state,
        }) = self.obj(top)
        else {
            return Err(bad("the top value is not a reconstructed array"));
        };
        if !self.is_global(*callable, "multiarray", "_reconstruct") {
            return Err(bad("the top value is not made by _reconstruct"));
        }
        match self.tuple(*args) {
            Some([cls, _, _]) if self.is_global(*cls, "numpy", "ndarray") => {}
            _ => return Err(bad("_reconstruct does not make a numpy.ndarray")),
        }
        let state = state
            .and_then(|s| self.tuple(s))
            .ok_or_else(|| bad("the array has no state"))?;
        let (shape, dtype, data) = match state {
            [_, shape, dtype, _, data] | [shape, dtype, _, data] => (*shape, *dtype, *data),
            _ => {
                return Err(bad(
                    "the array state is not (version, shape, dtype, fortran, data)",
                ))
            }
        };
        let n = match self.tuple(shape) {
            Some([Item::Int(n)]) if *n >= 0 => *n as usize,
            _ => return Err(bad("the array is not one-dimensional")),
        };
        let is_object = match self.obj(dtype) {
            Some(Obj::Call { callable, args, .. })
                if self.is_global(*callable, "numpy", "dtype") =>
            {
                matches!(self.tuple(*args), Some([kind, ..]) if self.text(*kind) == Some(b"O8"))
            }
            _ => false,
        };
        if !is_object {
            return Err(bad("the dtype is not object ('O8')"));
        }
        let items: Vec<Item> = match self.obj(data) {
            Some(Obj::List(v)) => v.clone(),
            Some(Obj::IntList(v)) if v.is_empty() => Vec::new(),
            _ => return Err(bad("the array data is not a list of lists")),
        };
        if items.len() != n {
            return Err(bad(&format!(
                "the shape says {n} elements, the data holds {}",
                items.len()
            )));
        }
        items
            .iter()
            .enumerate()
            .map(|(k, item)| match self.obj(*item) {
                Some(Obj::IntList(v)) => Ok(v.clone()),
                _ => Err(bad(&format!("element {k} is not a list of integers"))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // `pickle.dumps(a, protocol=p)` of `a = np.empty(3, dtype=object)` holding
    // `[1, 2]`, `[300]`, `[70000, -1, 2**40]`, written by numpy 2.4.6 on Python 3.11.7.
    const P2: &[u8] = b"\x80\x02cnumpy._core.multiarray\x0a_reconstruct\x0aq\x00cnumpy\x0andarray\x0aq\x01K\x00\x85q\x02c_codecs\x0aencode\x0aq\x03X\x01\x00\x00\x00bq\x04X\x06\x00\x00\x00latin1q\x05\x86q\x06Rq\x07\x87q\x08Rq\x09(K\x01K\x03\x85q\x0acnumpy\x0adtype\x0aq\x0bX\x02\x00\x00\x00O8q\x0c\x89\x88\x87q\x0dRq\x0e(K\x03X\x01\x00\x00\x00|q\x0fNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tq\x10b\x89]q\x11(]q\x12(K\x01K\x02e]q\x13M,\x01a]q\x14(Jp\x11\x01\x00J\xff\xff\xff\xff\x8a\x06\x00\x00\x00\x00\x00\x01eetq\x15b.";
    const P3: &[u8] = b"\x80\x03cnumpy._core.multiarray\x0a_reconstruct\x0aq\x00cnumpy\x0andarray\x0aq\x01K\x00\x85q\x02C\x01bq\x03\x87q\x04Rq\x05(K\x01K\x03\x85q\x06cnumpy\x0adtype\x0aq\x07X\x02\x00\x00\x00O8q\x08\x89\x88\x87q\x09Rq\x0a(K\x03X\x01\x00\x00\x00|q\x0bNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tq\x0cb\x89]q\x0d(]q\x0e(K\x01K\x02e]q\x0fM,\x01a]q\x10(Jp\x11\x01\x00J\xff\xff\xff\xff\x8a\x06\x00\x00\x00\x00\x00\x01eetq\x11b.";
    const P4: &[u8] = b"\x80\x04\x95\xae\x00\x00\x00\x00\x00\x00\x00\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x03\x85\x94h\x03\x8c\x05dtype\x94\x93\x94\x8c\x02O8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?t\x94b\x89]\x94(]\x94(K\x01K\x02e]\x94M,\x01a]\x94(Jp\x11\x01\x00J\xff\xff\xff\xff\x8a\x06\x00\x00\x00\x00\x00\x01eet\x94b.";

    #[test]
    fn reads_numpy_object_arrays_in_protocols_3_and_4() {
        let want = vec![vec![1, 2], vec![300], vec![70000, -1, 1 << 40]];
        assert_eq!(object_array_of_int_lists(P3, "p3").unwrap(), want);
        assert_eq!(object_array_of_int_lists(P4, "p4").unwrap(), want);
    }

    #[test]
    fn refuses_codecs_encode_like_keras() {
        // Python 3 writes bytes in protocol 2 through `_codecs.encode`, a global Keras'
        // restricted unpickler refuses too.
        let e = object_array_of_int_lists(P2, "x.npy").unwrap_err();
        assert!(e.to_string().contains("_codecs.encode"), "{e}");
    }

    #[test]
    fn every_truncation_is_an_error() {
        for n in 0..P4.len() {
            assert!(object_array_of_int_lists(&P4[..n], "x.npy").is_err(), "{n}");
        }
    }

    #[test]
    fn hostile_bytes_are_errors() {
        for bad in [
            &b""[..],
            b"\x80\x02.",
            b"\x80\x02]\x94(K\x01e",
            b"\x80\x02cos\nsystem\n.",
            b"\x80\x02h\x05.",
            b"\x80\x02X\xff\xff\xff\x7f.",
            b"\x80\x02\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09.",
            b"\x80\x02)\x85\x85\x85R.",
            b"\x80\x02K\x01b.",
            b"\x80\x02\xff",
            // a list that contains itself
            b"\x80\x02]q\x00h\x00a.",
        ] {
            assert!(object_array_of_int_lists(bad, "x.npy").is_err(), "{bad:?}");
        }
    }
}
