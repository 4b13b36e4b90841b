//! Inspektor Gadget's `gadget.yaml`: what a gadget says about its
//! parameters (`params.ebpf.<variable>`: `key`, `alias`, `defaultValue`,
//! `description`, `possibleValues`) and how to show its fields
//! (`datasources.<name>.fields.<field>.annotations`: `columns.width`,
//! `columns.alignment`, `columns.hidden`, `columns.ellipsis`,
//! `description`, ...). Keys other gadget tools add are ignored.
//!
//! The document comes from the gadget image, so from whoever published it:
//! it is parsed here, inside the sandbox, by a parser that never panics.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// A `gadget.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Spec {
    pub name: Option<String>,
    pub description: Option<String>,
    pub datasources: BTreeMap<String, DataSource>,
    pub params: Params,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    /// By the `const volatile` global each one sets.
    pub ebpf: BTreeMap<String, Param>,
}

/// One parameter of the BPF program.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Param {
    /// The name users give it (`--param KEY=VALUE`), if not the variable's.
    pub key: Option<String>,
    /// A second name for it.
    pub alias: Option<String>,
    pub default_value: Option<Scalar>,
    pub description: Option<String>,
    pub possible_values: Vec<Scalar>,
}

/// A data source: the records of one tracer, map iterator or snapshot.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DataSource {
    pub fields: BTreeMap<String, Field>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Field {
    pub annotations: BTreeMap<String, Scalar>,
}

/// A YAML scalar as written: `16`, `true` and `"16"` alike.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(v) => write!(f, "{v}"),
            Scalar::Int(v) => write!(f, "{v}"),
            Scalar::Float(v) => write!(f, "{v}"),
            Scalar::Text(v) => f.write_str(v),
        }
    }
}

impl Spec {
    /// Parses `text`; the error says where it went wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_saphyr::from_str(text).map_err(|e| format!("gadget.yaml is not a gadget's: {e}"))
    }

    /// Reads and parses the file `path`; `None` when there is none (a
    /// gadget may come without one).
    pub fn read(path: &str) -> Result<Option<Self>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("reading {path}: {e}")),
        }
    }

    /// The variable the parameter `name` sets: `name` matched, ignoring
    /// case, against each parameter's key, alias and variable.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.params.ebpf.iter().find_map(|(variable, param)| {
            [
                Some(variable.as_str()),
                param.key.as_deref(),
                param.alias.as_deref(),
            ]
            .into_iter()
            .flatten()
            .any(|n| n.eq_ignore_ascii_case(name))
            .then_some(variable.as_str())
        })
    }

    /// The annotations of field `field` of data source `source`, or of the
    /// only data source when there is one and `source` is not among them.
    pub fn annotations(&self, source: &str, field: &str) -> Option<&BTreeMap<String, Scalar>> {
        let source = self.datasources.get(source).or_else(|| {
            let mut all = self.datasources.values();
            match (all.next(), all.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        })?;
        source.fields.get(field).map(|f| &f.annotations)
    }
}

impl Param {
    /// The name users give it: its key, else its variable's name.
    pub fn name<'a>(&'a self, variable: &'a str) -> &'a str {
        self.key.as_deref().unwrap_or(variable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
name: trace exec
description: Traces process executions
homepageURL: https://example.org
datasources:
  exec:
    fields:
      comm:
        annotations:
          description: The command
          columns.width: 16
      uid:
        annotations:
          columns.hidden: true
params:
  ebpf:
    targ_uid:
      key: uid
      alias: u
      defaultValue: "4294967295"
      description: Only this user
    ignore_failed:
      defaultValue: true
"#;

    #[test]
    fn params_and_annotations_are_read_and_matched_by_any_name() {
        let spec = Spec::parse(YAML).unwrap();
        assert_eq!(spec.name.as_deref(), Some("trace exec"));
        assert_eq!(spec.variable("UID"), Some("targ_uid"));
        assert_eq!(spec.variable("u"), Some("targ_uid"));
        assert_eq!(spec.variable("targ_uid"), Some("targ_uid"));
        assert_eq!(spec.variable("pid"), None);
        let p = &spec.params.ebpf["targ_uid"];
        assert_eq!(p.name("targ_uid"), "uid");
        assert_eq!(p.default_value, Some(Scalar::Text("4294967295".into())));
        assert_eq!(
            spec.params.ebpf["ignore_failed"]
                .default_value
                .as_ref()
                .map(ToString::to_string),
            Some("true".into())
        );
        let comm = spec.annotations("event", "comm").unwrap();
        assert_eq!(comm["columns.width"], Scalar::Int(16));
        assert_eq!(
            spec.annotations("exec", "uid").unwrap()["columns.hidden"],
            Scalar::Bool(true)
        );
        assert!(spec.annotations("exec", "pid").is_none());
    }

    #[test]
    fn what_is_not_a_gadget_yaml_is_refused() {
        assert!(Spec::parse("params: [1, 2").is_err());
        assert!(Spec::parse("params:\n  ebpf: 7\n").is_err());
        assert!(Spec::parse("\u{0}\u{1}binary").is_err());
        assert!(Spec::parse("").is_ok());
    }
}
