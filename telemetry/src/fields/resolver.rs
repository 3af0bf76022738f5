//! The request's facts as the CEL interpreter reads them: [`Vars`] answers a dotted name
//! (`llm.prompt`: the interpreter asks for the longest name first) by building that one value
//! ([`Var::to_val`]); the bare roots (`llm`, `request`, ...) are [`RootVal`]s, maps whose
//! entries are built when indexed.

use std::sync::LazyLock;

use cel::common::traits::{self, Container, Indexer, Iterable, Sizer};
use cel::common::types::{CelInt, CelString, Type, MAP_TYPE};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::ExecutionError;

use super::vars::{Root, Var};
use crate::facts::RequestRecord;

/// The interpreter's variables for one request.
pub(crate) struct Vars<'a> {
    pub(crate) rec: &'a RequestRecord,
}

impl VariableResolver for Vars<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let (root, field) = match variable.split_once('.') {
            Some((root, field)) => (Root::parse(root)?, Some(field)),
            None => (Root::parse(variable)?, None),
        };
        match field {
            None => root.present(self.rec).then(|| {
                CowVal::owned(RootVal {
                    root,
                    rec: self.rec,
                })
            }),
            // `llm.params.temperature`: answered by selecting on `llm.params`
            Some(field) => Some(CowVal::Owned(Var::parse(root, field)?.to_val(self.rec)?)),
        }
    }
}

/// The canonical field names as CEL strings, for iterating over a root's keys.
static KEYS: LazyLock<Vec<(Var, CelString<'static>)>> = LazyLock::new(|| {
    [Root::Llm, Root::Request, Root::Response, Root::Source]
        .iter()
        .flat_map(|r| r.vars().iter())
        .map(|v| (*v, CelString::from(v.name())))
        .collect()
});

/// A root (`llm`, `request`, ...) as a CEL map whose entries are built when indexed.
#[derive(Clone, Copy)]
pub(crate) struct RootVal<'a> {
    root: Root,
    rec: &'a RequestRecord,
}

impl std::fmt::Debug for RootVal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.root)
    }
}

impl<'a> RootVal<'a> {
    fn field(&self, idx: &dyn Val) -> Result<Box<dyn Val + 'a>, ExecutionError> {
        let name = idx
            .downcast_ref::<CelString>()
            .map(|s| s.inner())
            .unwrap_or_default();
        Var::parse(self.root, name)
            .and_then(|v| v.to_val(self.rec))
            .ok_or_else(|| ExecutionError::no_such_key(name))
    }

    fn present_keys(self) -> impl std::iter::Iterator<Item = &'static CelString<'static>> + 'a {
        KEYS.iter()
            .filter(move |(v, _)| self.root.vars().contains(v) && v.fact(self.rec).is_some())
            .map(|(_, k)| k)
    }
}

impl Val for RootVal<'_> {
    fn get_type(&self) -> &Type {
        &MAP_TYPE
    }

    fn cel_type() -> &'static Type {
        &MAP_TYPE
    }

    fn as_container(&self) -> Option<&dyn Container> {
        Some(self)
    }

    fn as_indexer<'b, 'v>(&'b self) -> Option<&'b (dyn Indexer + 'v)>
    where
        Self: 'v,
    {
        Some(self)
    }

    fn as_iterable<'b, 'v>(&'b self) -> Option<&'b (dyn Iterable + 'v)>
    where
        Self: 'v,
    {
        Some(self)
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        Some(self)
    }

    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v>
    where
        Self: 'v,
    {
        Box::new(*self)
    }
}

impl<'a> Indexer for RootVal<'a> {
    fn get<'b, 'v>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'v>, ExecutionError>
    where
        Self: 'v,
    {
        self.field(idx).map(CowVal::Owned)
    }

    fn steal<'v>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'v>, ExecutionError>
    where
        Self: 'v,
    {
        self.field(idx)
    }
}

impl Container for RootVal<'_> {
    fn contains(&self, value: &dyn Val) -> Result<bool, ExecutionError> {
        Ok(self.field(value).is_ok())
    }
}

impl Sizer for RootVal<'_> {
    fn size(&self) -> CelInt {
        CelInt::from(self.present_keys().count() as i64)
    }
}

impl Iterable for RootVal<'_> {
    fn iter<'b, 'v>(&'b self) -> Box<dyn traits::Iterator<'b, 'v> + 'b>
    where
        Self: 'v,
    {
        Box::new(KeyIter(Box::new(self.present_keys())))
    }
}

struct KeyIter<'b>(Box<dyn std::iter::Iterator<Item = &'static CelString<'static>> + 'b>);

impl<'b, 'v> traits::Iterator<'b, 'v> for KeyIter<'b> {
    fn next(&mut self) -> Option<&'b (dyn Val + 'v)> {
        self.0.next().map(|k| k as &dyn Val)
    }
}
