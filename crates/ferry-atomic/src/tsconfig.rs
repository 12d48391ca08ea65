//! Reading Atomic CRM's configuration out of a TypeScript file, without running it.
//!
//! Atomic CRM's enums (deal stages, sectors, task types…) live either in the `configuration` table or in code: the
//! defaults in `src/components/atomic-crm/root/defaultConfiguration.ts`
//! (`export const defaultDealStages = [...]`, `export const defaultConfiguration = { dealStages: defaultDealStages, … }`)
//! and, in customised or older installations, the props of `<CRM … />` in `src/App.tsx`.
//!
//! [`extract`] parses such a file with tree-sitter (TypeScript grammar for `.ts`/`.mts`/`.cts`, TSX otherwise) and
//! evaluates the literal values it finds into JSON: strings (with escapes), template strings without substitutions,
//! numbers, booleans, `null`/`undefined`, arrays, objects, spreads of literal arrays and objects, same-file identifier
//! references (`const` → `const` chains), member access on literal objects, and it sees through `as const`,
//! `satisfies`, `!`, parentheses and type annotations. Anything else (a function call, an imported name…) becomes a
//! [`TsDiagnostic`] naming the file, the line and the prop; it never aborts the extraction. A file that does not parse
//! is a [`TsError::Syntax`] naming the file and the line of the first syntax error.
//!
//! Where the values come from, strongest first, per key:
//! 1. the attributes of the first `<CRM …/>` element (including `{...spread}` of a literal object);
//! 2. a configuration object: a declaration named `defaultConfiguration`, or else the first declaration whose value is
//!    an object literal holding at least one known key;
//! 3. `default<Key>` declarations (`defaultDealStages`, `defaultTitle`…).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Number, Value};
use tree_sitter::{Node, Parser, Tree};

/// The configuration keys ferry reads: the `<CRM>` props that describe data, plus the older `contactGender` and
/// `logo`. Other props (`dataProvider`, `lightTheme`…) are listed in [`TsConfig::ignored_props`].
pub const CONFIG_KEYS: &[&str] = &[
    "companySectors",
    "contactGender",
    "currency",
    "darkModeLogo",
    "dealCategories",
    "dealPipelineStatuses",
    "dealStages",
    "disableEmailPasswordAuthentication",
    "googleWorkplaceDomain",
    "lightModeLogo",
    "logo",
    "noteStatuses",
    "taskTypes",
    "title",
];

/// How deep identifier references and nesting may go before ferry gives up (guards against cycles and absurd files).
const MAX_DEPTH: usize = 64;

/// What [`extract`] found in one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TsConfig {
    /// The file read.
    pub file: PathBuf,
    /// Each configuration key found, in the order first met, with its literal value.
    pub props: Vec<TsProp>,
    /// Props of the `<CRM>` element that ferry does not read (`dataProvider`, `lightTheme`…), by name.
    pub ignored_props: Vec<String>,
    /// Values that could not be read as literals. Each names the file, line and prop.
    pub diagnostics: Vec<TsDiagnostic>,
}

impl TsConfig {
    /// The prop called `key`, if the file sets it.
    pub fn prop(&self, key: &str) -> Option<&TsProp> {
        self.props.iter().find(|p| p.key == key)
    }

    /// The literal value of the prop called `key`, if the file sets it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.prop(key).map(|p| &p.value)
    }
}

/// One configuration key read from the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TsProp {
    /// The configuration key (`dealStages`, `title`…).
    pub key: String,
    /// Its value as JSON. Parts that were not literal are left out (and reported in [`TsConfig::diagnostics`]).
    pub value: Value,
    /// The 1-based line where the key is set.
    pub line: usize,
    /// Which construct set it.
    pub origin: PropOrigin,
}

/// The construct a [`TsProp`] was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PropOrigin {
    /// An attribute of a `<CRM>` JSX element.
    JsxProp {
        /// The element's name as written (`CRM`, `Root.CRM`).
        element: String,
    },
    /// A key of a configuration object literal such as `defaultConfiguration`.
    ConfigObject {
        /// The name of the declaration holding the object.
        name: String,
    },
    /// A `default<Key>` declaration such as `defaultDealStages`.
    DefaultConst {
        /// The declaration's name.
        name: String,
    },
}

/// A value ferry could not read as a literal. The extraction goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TsDiagnostic {
    /// The file.
    pub file: PathBuf,
    /// 1-based line of the offending expression.
    pub line: usize,
    /// 1-based column of the offending expression.
    pub column: usize,
    /// The prop and the path inside it (`dealStages`, `dealStages[2].label`, `contactGender[0].icon`).
    pub prop: String,
    /// The offending source text, shortened.
    pub snippet: String,
    /// Why it could not be read.
    pub message: String,
}

impl std::fmt::Display for TsDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {} (`{}`)",
            self.file.display(),
            self.line,
            self.column,
            self.prop,
            self.message,
            self.snippet
        )
    }
}

/// Why a TypeScript file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum TsError {
    /// The file could not be read from disk.
    #[error("cannot read {}: {source} (check the path you gave for the configuration file)", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TypeScript/TSX.
    #[error(
        "{}:{line}:{column}: syntax error ({detail}) in `{snippet}`; fix the file (it must compile) or point ferry at another one",
        path.display()
    )]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the first syntax error.
        line: usize,
        /// 1-based column of the first syntax error.
        column: usize,
        /// What is wrong (`missing "}"`, `unexpected "…"`).
        detail: String,
        /// The source line where it is, shortened.
        snippet: String,
    },
    /// The parser could not be set up or gave up (never expected).
    #[error("cannot parse {}: {message}", path.display())]
    Parser {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
}

/// Reads `path` and extracts the configuration it declares. See the module documentation for what is understood.
///
/// A file in which no configuration is found gives an empty [`TsConfig::props`], not an error: the caller decides
/// whether that is a problem.
pub fn extract(path: &Path) -> Result<TsConfig, TsError> {
    let source = std::fs::read_to_string(path).map_err(|source| TsError::Io { path: path.to_path_buf(), source })?;
    extract_source(path, &source)
}

/// Like [`extract`], for source text already in memory; `path` names it in messages and chooses the grammar
/// (`.ts`, `.mts`, `.cts` → TypeScript, anything else → TSX).
pub fn extract_source(path: &Path, source: &str) -> Result<TsConfig, TsError> {
    let tree = parse(path, source)?;
    let mut ex = Extractor::new(path, source.as_bytes(), &tree);
    ex.run(tree.root_node());
    Ok(TsConfig { file: path.to_path_buf(), props: ex.props, ignored_props: ex.ignored, diagnostics: ex.diags })
}

fn parse(path: &Path, source: &str) -> Result<Tree, TsError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let language = match ext.as_str() {
        "ts" | "mts" | "cts" => tree_sitter_typescript::LANGUAGE_TYPESCRIPT,
        _ => tree_sitter_typescript::LANGUAGE_TSX,
    };
    let mut parser = Parser::new();
    parser
        .set_language(&language.into())
        .map_err(|e| TsError::Parser { path: path.to_path_buf(), message: e.to_string() })?;
    let tree = parser
        .parse(source, None)
        .ok_or_else(|| TsError::Parser { path: path.to_path_buf(), message: "the parser returned no tree".into() })?;
    let root = tree.root_node();
    if root.has_error() {
        let bad = first_error(root).unwrap_or(root);
        let pos = bad.start_position();
        let line_text = source.lines().nth(pos.row).unwrap_or("").trim();
        let detail = if bad.is_missing() {
            format!("missing \"{}\"", bad.kind())
        } else {
            let text = source.get(bad.byte_range()).unwrap_or("");
            format!("unexpected \"{}\"", shorten(text))
        };
        return Err(TsError::Syntax {
            path: path.to_path_buf(),
            line: pos.row + 1,
            column: pos.column + 1,
            detail,
            snippet: shorten(line_text),
        });
    }
    Ok(tree)
}

/// The first ERROR or MISSING node in document order (iterative: files may nest deeply).
fn first_error(root: Node<'_>) -> Option<Node<'_>> {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            return Some(node);
        }
        if !node.has_error() {
            continue;
        }
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    None
}

fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > MAX {
        let cut: String = one_line.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

/// A declaration `name = value` somewhere in the file.
#[derive(Clone, Copy)]
struct Decl<'t> {
    value: Node<'t>,
    top_level: bool,
}

struct Extractor<'a, 't> {
    file: &'a Path,
    src: &'a [u8],
    decls: HashMap<String, Vec<Decl<'t>>>,
    imports: HashMap<String, String>,
    resolving: Vec<String>,
    props: Vec<TsProp>,
    ignored: Vec<String>,
    diags: Vec<TsDiagnostic>,
}

/// Why an expression is not a literal.
struct NotLiteral {
    node_line: usize,
    node_column: usize,
    snippet: String,
    message: String,
}

impl<'a, 't> Extractor<'a, 't> {
    fn new(file: &'a Path, src: &'a [u8], tree: &'t Tree) -> Self {
        let mut ex = Extractor {
            file,
            src,
            decls: HashMap::new(),
            imports: HashMap::new(),
            resolving: Vec::new(),
            props: Vec::new(),
            ignored: Vec::new(),
            diags: Vec::new(),
        };
        ex.index(tree.root_node(), 0);
        ex
    }

    fn text(&self, node: Node<'_>) -> &'a str {
        std::str::from_utf8(&self.src[node.byte_range()]).unwrap_or("")
    }

    /// Records every `name = value` declarator and every imported name.
    fn index(&mut self, node: Node<'t>, depth: usize) {
        match node.kind() {
            "variable_declarator" => {
                if let (Some(name), Some(value)) = (node.child_by_field_name("name"), node.child_by_field_name("value"))
                    && name.kind() == "identifier"
                {
                    let top_level = is_top_level(node);
                    self.decls.entry(self.text(name).to_string()).or_default().push(Decl { value, top_level });
                }
            }
            "import_statement" => {
                let module = node.child_by_field_name("source").map(|s| self.string_text(s)).unwrap_or_default();
                self.index_import(node, &module);
                return;
            }
            _ => {}
        }
        if depth > 200 {
            return;
        }
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
        for child in children {
            self.index(child, depth + 1);
        }
    }

    fn index_import(&mut self, node: Node<'t>, module: &str) {
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
        for child in children {
            match child.kind() {
                "import_specifier" => {
                    let local = child.child_by_field_name("alias").or_else(|| child.child_by_field_name("name"));
                    if let Some(local) = local {
                        self.imports.insert(self.text(local).to_string(), module.to_string());
                    }
                }
                "identifier" => {
                    self.imports.insert(self.text(child).to_string(), module.to_string());
                }
                _ => self.index_import(child, module),
            }
        }
    }

    fn string_text(&self, node: Node<'_>) -> String {
        let mut out = String::new();
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            match child.kind() {
                "string_fragment" => out.push_str(self.text(child)),
                "escape_sequence" => decode_escape(self.text(child), &mut out),
                _ => {}
            }
        }
        out
    }

    fn lookup(&self, name: &str) -> Option<Decl<'t>> {
        let all = self.decls.get(name)?;
        all.iter().find(|d| d.top_level).or_else(|| all.first()).copied()
    }

    fn run(&mut self, root: Node<'t>) {
        // 3. default<Key> declarations (weakest).
        let mut names: Vec<(String, Decl<'t>)> =
            self.decls.iter().filter_map(|(n, ds)| ds.iter().find(|d| d.top_level).map(|d| (n.clone(), *d))).collect();
        names.sort_by_key(|(_, d)| d.value.start_byte());
        for (name, decl) in &names {
            if let Some(key) = default_const_key(name) {
                let origin = PropOrigin::DefaultConst { name: name.clone() };
                self.set_prop(key, decl.value, origin);
            }
        }
        // 2. A configuration object.
        let config_object = names
            .iter()
            .find(|(n, _)| n == "defaultConfiguration")
            .or_else(|| names.iter().find(|(_, d)| self.is_config_object(d.value)))
            .cloned();
        if let Some((name, decl)) = config_object {
            let origin = PropOrigin::ConfigObject { name: name.clone() };
            self.collect_object(decl.value, &origin, 0);
        }
        // 1. The first <CRM> element (strongest).
        if let Some(element) = find_crm_element(root, self.src) {
            self.collect_jsx(element);
        }
    }

    fn set_prop(&mut self, key: &str, value_node: Node<'t>, origin: PropOrigin) {
        let line = value_node.start_position().row + 1;
        let Some(value) = self.eval_prop(key, value_node) else {
            // Not literal: a diagnostic was recorded; an earlier (weaker) value for the key stays.
            return;
        };
        let prop = TsProp { key: key.to_string(), value, line, origin };
        match self.props.iter_mut().find(|p| p.key == key) {
            Some(existing) => *existing = prop,
            None => self.props.push(prop),
        }
    }

    fn eval_prop(&mut self, key: &str, node: Node<'t>) -> Option<Value> {
        self.resolving.clear();
        match self.eval(node, key, 0) {
            Ok(v) => Some(v),
            Err(nl) => {
                self.diag(key.to_string(), nl);
                None
            }
        }
    }

    /// Evaluates one property of an object literal into `map`, or records why it is not a literal.
    fn eval_entry(&mut self, map: &mut Map<String, Value>, key: String, node: Node<'t>, path: &str, depth: usize) {
        let item_path = format!("{path}.{key}");
        match self.eval(node, &item_path, depth + 1) {
            Ok(value) => {
                map.insert(key, value);
            }
            Err(nl) => self.diag(item_path, nl),
        }
    }

    fn diag(&mut self, prop: String, nl: NotLiteral) {
        self.diags.push(TsDiagnostic {
            file: self.file.to_path_buf(),
            line: nl.node_line,
            column: nl.node_column,
            prop,
            snippet: nl.snippet,
            message: nl.message,
        });
    }

    fn not_literal(&self, node: Node<'_>, message: impl Into<String>) -> NotLiteral {
        let pos = node.start_position();
        NotLiteral {
            node_line: pos.row + 1,
            node_column: pos.column + 1,
            snippet: shorten(self.text(node)),
            message: message.into(),
        }
    }

    /// Whether `node` (after unwrapping) is an object literal with at least one known configuration key.
    fn is_config_object(&self, node: Node<'t>) -> bool {
        let node = unwrap_expr(node);
        if node.kind() != "object" {
            return false;
        }
        let mut cursor = node.walk();
        node.named_children(&mut cursor).any(|c| match c.kind() {
            "pair" => c.child_by_field_name("key").is_some_and(|k| CONFIG_KEYS.contains(&self.key_text(k).as_str())),
            "shorthand_property_identifier" => CONFIG_KEYS.contains(&self.text(c)),
            _ => false,
        })
    }

    fn key_text(&self, key: Node<'_>) -> String {
        match key.kind() {
            "string" => self.string_text(key),
            _ => self.text(key).to_string(),
        }
    }

    /// Reads the known keys of an object literal (following identifiers and spreads) as props.
    fn collect_object(&mut self, node: Node<'t>, origin: &PropOrigin, depth: usize) {
        let node = unwrap_expr(node);
        if depth > MAX_DEPTH {
            return;
        }
        match node.kind() {
            "identifier" => {
                let name = self.text(node);
                match self.lookup(name) {
                    Some(decl) => self.collect_object(decl.value, origin, depth + 1),
                    None => {
                        let nl = self.unresolved(node, name);
                        self.diag(format!("...{name}"), nl);
                    }
                }
            }
            "object" => {
                let mut cursor = node.walk();
                let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                for child in children {
                    match child.kind() {
                        "pair" => {
                            let (Some(k), Some(v)) =
                                (child.child_by_field_name("key"), child.child_by_field_name("value"))
                            else {
                                continue;
                            };
                            let key = self.key_text(k);
                            if let Some(known) = CONFIG_KEYS.iter().find(|c| **c == key) {
                                self.set_prop(known, v, origin.clone());
                            }
                        }
                        "shorthand_property_identifier" => {
                            let key = self.text(child);
                            if let Some(known) = CONFIG_KEYS.iter().find(|c| **c == key) {
                                self.set_prop(known, child, origin.clone());
                            }
                        }
                        "spread_element" => {
                            if let Some(inner) = first_expr_child(child) {
                                self.collect_object(inner, origin, depth + 1);
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                let nl = self.not_literal(node, format!("a spread of a {} is not a literal object", node.kind()));
                self.diag("...".into(), nl);
            }
        }
    }

    fn collect_jsx(&mut self, element: Node<'t>) {
        let element_name = element.child_by_field_name("name").map(|n| self.text(n).to_string()).unwrap_or_default();
        let origin = PropOrigin::JsxProp { element: element_name };
        let mut cursor = element.walk();
        let attributes: Vec<Node<'t>> = element.children_by_field_name("attribute", &mut cursor).collect();
        for attr in attributes {
            match attr.kind() {
                "jsx_attribute" => {
                    let mut c = attr.walk();
                    let parts: Vec<Node<'t>> = attr.named_children(&mut c).filter(|n| n.kind() != "comment").collect();
                    let Some(name_node) = parts.first() else { continue };
                    let name = self.text(*name_node).to_string();
                    let Some(known) = CONFIG_KEYS.iter().find(|c| **c == name) else {
                        if !self.ignored.contains(&name) {
                            self.ignored.push(name);
                        }
                        continue;
                    };
                    match parts.get(1) {
                        // `<CRM disableEmailPasswordAuthentication />` means true.
                        None => {
                            let line = name_node.start_position().row + 1;
                            let prop = TsProp {
                                key: known.to_string(),
                                value: Value::Bool(true),
                                line,
                                origin: origin.clone(),
                            };
                            self.replace_prop(prop);
                        }
                        Some(value) if value.kind() == "string" => {
                            // JSX attribute strings take no backslash escapes.
                            let mut text = String::new();
                            let mut c2 = value.walk();
                            for frag in value.named_children(&mut c2) {
                                text.push_str(self.text(frag));
                            }
                            let line = value.start_position().row + 1;
                            let prop = TsProp {
                                key: known.to_string(),
                                value: Value::String(text),
                                line,
                                origin: origin.clone(),
                            };
                            self.replace_prop(prop);
                        }
                        Some(value) if value.kind() == "jsx_expression" => match first_expr_child(*value) {
                            Some(expr) => self.set_prop(known, expr, origin.clone()),
                            None => {
                                let nl = self.not_literal(*value, "the prop has an empty expression");
                                self.diag(known.to_string(), nl);
                            }
                        },
                        Some(value) => {
                            let nl = self.not_literal(*value, format!("a {} is not a literal", value.kind()));
                            self.diag(known.to_string(), nl);
                        }
                    }
                }
                "jsx_expression" => {
                    // `{...config}`
                    if let Some(spread) = first_expr_child(attr).filter(|n| n.kind() == "spread_element")
                        && let Some(inner) = first_expr_child(spread)
                    {
                        self.collect_object(inner, &origin, 0);
                    }
                }
                _ => {}
            }
        }
    }

    fn replace_prop(&mut self, prop: TsProp) {
        match self.props.iter_mut().find(|p| p.key == prop.key) {
            Some(existing) => *existing = prop,
            None => self.props.push(prop),
        }
    }

    fn unresolved(&self, node: Node<'_>, name: &str) -> NotLiteral {
        match self.imports.get(name) {
            Some(module) => self.not_literal(
                node,
                format!(
                    "`{name}` is imported from \"{module}\"; ferry reads one file only: point it at that file or inline the values"
                ),
            ),
            None => self.not_literal(node, format!("`{name}` is not declared in this file")),
        }
    }

    /// Evaluates a literal expression. Non-literal parts nested in arrays or objects are left out and reported;
    /// a non-literal at `node` itself is returned as the error.
    fn eval(&mut self, node: Node<'t>, path: &str, depth: usize) -> Result<Value, NotLiteral> {
        if depth > MAX_DEPTH {
            return Err(self.not_literal(node, "nesting or references go too deep"));
        }
        match node.kind() {
            "as_expression" | "satisfies_expression" | "non_null_expression" | "parenthesized_expression" => {
                match first_expr_child(node) {
                    Some(inner) => self.eval(inner, path, depth + 1),
                    None => Err(self.not_literal(node, "empty expression")),
                }
            }
            "type_assertion" => {
                let mut cursor = node.walk();
                let last = node.named_children(&mut cursor).filter(|n| n.kind() != "comment").last();
                match last {
                    Some(inner) => self.eval(inner, path, depth + 1),
                    None => Err(self.not_literal(node, "empty expression")),
                }
            }
            "string" => Ok(Value::String(self.string_text(node))),
            "template_string" => {
                let mut out = String::new();
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    match child.kind() {
                        "string_fragment" => out.push_str(self.text(child)),
                        "escape_sequence" => decode_escape(self.text(child), &mut out),
                        "template_substitution" => {
                            return Err(
                                self.not_literal(node, "a template string with `${…}` substitutions is not a literal")
                            );
                        }
                        _ => {}
                    }
                }
                Ok(Value::String(out))
            }
            "number" => parse_number(self.text(node)).ok_or_else(|| self.not_literal(node, "unreadable number")),
            "unary_expression" => {
                let op = node.child_by_field_name("operator").map(|o| self.text(o)).unwrap_or("");
                let arg = node.child_by_field_name("argument");
                match (op, arg) {
                    ("-" | "+", Some(arg)) if arg.kind() == "number" => {
                        let text = format!("{op}{}", self.text(arg));
                        parse_number(&text).ok_or_else(|| self.not_literal(node, "unreadable number"))
                    }
                    _ => Err(self.not_literal(node, "an operator expression is not a literal")),
                }
            }
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "null" | "undefined" => Ok(Value::Null),
            "identifier" | "shorthand_property_identifier" => {
                let name = self.text(node);
                if name == "undefined" {
                    return Ok(Value::Null);
                }
                if self.resolving.iter().any(|n| n == name) {
                    return Err(self.not_literal(node, format!("`{name}` refers to itself")));
                }
                let Some(decl) = self.lookup(name) else {
                    return Err(self.unresolved(node, name));
                };
                self.resolving.push(name.to_string());
                let result = self.eval(decl.value, path, depth + 1);
                self.resolving.pop();
                result
            }
            "array" => {
                let mut items = Vec::new();
                let mut cursor = node.walk();
                let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                for child in children {
                    if child.kind() == "comment" {
                        continue;
                    }
                    let item_path = format!("{path}[{}]", items.len());
                    if child.kind() == "spread_element" {
                        let Some(inner) = first_expr_child(child) else { continue };
                        match self.eval(inner, &item_path, depth + 1) {
                            Ok(Value::Array(spread)) => items.extend(spread),
                            Ok(_) => {
                                let nl = self.not_literal(child, "only arrays can be spread into an array");
                                self.diag(item_path, nl);
                            }
                            Err(nl) => self.diag(item_path, nl),
                        }
                        continue;
                    }
                    match self.eval(child, &item_path, depth + 1) {
                        Ok(v) => items.push(v),
                        Err(nl) => self.diag(item_path, nl),
                    }
                }
                Ok(Value::Array(items))
            }
            "object" => {
                let mut map = Map::new();
                let mut cursor = node.walk();
                let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                for child in children {
                    match child.kind() {
                        "comment" => {}
                        "pair" => {
                            let (Some(k), Some(v)) =
                                (child.child_by_field_name("key"), child.child_by_field_name("value"))
                            else {
                                continue;
                            };
                            let key = match k.kind() {
                                "property_identifier" | "number" => self.text(k).to_string(),
                                "string" => self.string_text(k),
                                "computed_property_name" => {
                                    let inner = first_expr_child(k);
                                    match inner.map(|i| self.eval(i, path, depth + 1)) {
                                        Some(Ok(Value::String(s))) => s,
                                        Some(Ok(Value::Number(n))) => n.to_string(),
                                        Some(Err(nl)) => {
                                            self.diag(format!("{path}[…]"), nl);
                                            continue;
                                        }
                                        _ => {
                                            let nl = self.not_literal(k, "a computed key must be a string or a number");
                                            self.diag(format!("{path}[…]"), nl);
                                            continue;
                                        }
                                    }
                                }
                                _ => self.text(k).to_string(),
                            };
                            self.eval_entry(&mut map, key, v, path, depth);
                        }
                        "shorthand_property_identifier" => {
                            let key = self.text(child).to_string();
                            self.eval_entry(&mut map, key, child, path, depth);
                        }
                        "spread_element" => {
                            let Some(inner) = first_expr_child(child) else { continue };
                            match self.eval(inner, path, depth + 1) {
                                Ok(Value::Object(spread)) => {
                                    for (k, v) in spread {
                                        map.insert(k, v);
                                    }
                                }
                                Ok(_) => {
                                    let nl = self.not_literal(child, "only objects can be spread into an object");
                                    self.diag(format!("{path}.…"), nl);
                                }
                                Err(nl) => self.diag(format!("{path}.…"), nl),
                            }
                        }
                        other => {
                            let name = child
                                .child_by_field_name("name")
                                .map(|n| self.text(n).to_string())
                                .unwrap_or_else(|| "…".into());
                            let nl = self.not_literal(child, format!("a {other} is not a literal"));
                            self.diag(format!("{path}.{name}"), nl);
                        }
                    }
                }
                Ok(Value::Object(map))
            }
            "member_expression" => {
                let object = node.child_by_field_name("object");
                let property = node.child_by_field_name("property");
                match (object, property) {
                    (Some(o), Some(p)) if p.kind() == "property_identifier" => {
                        let key = self.text(p).to_string();
                        self.member(node, o, &key, path, depth)
                    }
                    _ => Err(self.not_literal(node, "a member expression ferry cannot follow")),
                }
            }
            "subscript_expression" => {
                let object = node.child_by_field_name("object");
                let index = node.child_by_field_name("index");
                match (object, index) {
                    (Some(o), Some(i)) => match self.eval(i, path, depth + 1)? {
                        Value::String(key) => self.member(node, o, &key, path, depth),
                        Value::Number(n) => self.member(node, o, &n.to_string(), path, depth),
                        _ => Err(self.not_literal(node, "an index must be a string or a number")),
                    },
                    _ => Err(self.not_literal(node, "a subscript ferry cannot follow")),
                }
            }
            "call_expression" => {
                Err(self.not_literal(node, "a function call is not a literal; its result is only known at run time"))
            }
            "arrow_function" | "function_expression" | "function" => {
                Err(self.not_literal(node, "a function is not a literal"))
            }
            "jsx_element" | "jsx_self_closing_element" => Err(self.not_literal(node, "a JSX element is not a literal")),
            other => Err(self.not_literal(node, format!("a {other} is not a literal"))),
        }
    }

    fn member(
        &mut self,
        node: Node<'t>,
        object: Node<'t>,
        key: &str,
        path: &str,
        depth: usize,
    ) -> Result<Value, NotLiteral> {
        let base = self.eval(object, path, depth + 1)?;
        let found = match &base {
            Value::Object(map) => map.get(key).cloned(),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i).cloned()),
            _ => None,
        };
        found.ok_or_else(|| self.not_literal(node, format!("`{key}` is not set in that literal")))
    }
}

fn is_top_level(declarator: Node<'_>) -> bool {
    // variable_declarator → lexical_declaration/variable_declaration → program | export_statement → program
    let Some(decl) = declarator.parent() else { return false };
    match decl.parent() {
        Some(p) if p.kind() == "program" => true,
        Some(p) if p.kind() == "export_statement" => p.parent().is_some_and(|pp| pp.kind() == "program"),
        _ => false,
    }
}

/// `defaultDealStages` → `dealStages` when that is a known key.
fn default_const_key(name: &str) -> Option<&'static str> {
    let rest = name.strip_prefix("default")?;
    let mut chars = rest.chars();
    let first = chars.next()?;
    let key: String = first.to_lowercase().chain(chars).collect();
    CONFIG_KEYS.iter().find(|k| **k == key).copied()
}

/// Peels `as const`, `satisfies T`, `!`, parentheses.
fn unwrap_expr(mut node: Node<'_>) -> Node<'_> {
    while matches!(
        node.kind(),
        "as_expression" | "satisfies_expression" | "non_null_expression" | "parenthesized_expression"
    ) {
        match first_expr_child(node) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

fn first_expr_child(node: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).find(|n| n.kind() != "comment")
}

/// The first `<CRM …>` element (self-closing or opening tag) in document order.
fn find_crm_element<'t>(root: Node<'t>, src: &[u8]) -> Option<Node<'t>> {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if matches!(node.kind(), "jsx_self_closing_element" | "jsx_opening_element")
            && let Some(name) = node.child_by_field_name("name")
        {
            let text = std::str::from_utf8(&src[name.byte_range()]).unwrap_or("");
            if text == "CRM" || text.ends_with(".CRM") {
                return Some(node);
            }
        }
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    None
}

fn parse_number(text: &str) -> Option<Value> {
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, cleaned.trim_start_matches('+').to_string()),
    };
    let radix = match body.get(..2).map(|p| p.to_ascii_lowercase()) {
        Some(p) if p == "0x" => Some(16),
        Some(p) if p == "0o" => Some(8),
        Some(p) if p == "0b" => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        let v = i64::from_str_radix(body.get(2..)?, radix).ok()?;
        return Some(Value::Number(Number::from(if neg { -v } else { v })));
    }
    let body = body.trim_end_matches('n');
    if let Ok(v) = body.parse::<i64>() {
        return Some(Value::Number(Number::from(if neg { -v } else { v })));
    }
    let v: f64 = body.parse().ok()?;
    Number::from_f64(if neg { -v } else { v }).map(Value::Number)
}

/// Appends the character(s) an escape sequence such as `\n`, `\u00e9`, `\u{1F600}`, `\x41` stands for.
fn decode_escape(seq: &str, out: &mut String) {
    let Some(body) = seq.strip_prefix('\\') else {
        out.push_str(seq);
        return;
    };
    let mut chars = body.chars();
    match chars.next() {
        Some('n') => out.push('\n'),
        Some('t') => out.push('\t'),
        Some('r') => out.push('\r'),
        Some('b') => out.push('\u{8}'),
        Some('f') => out.push('\u{c}'),
        Some('v') => out.push('\u{b}'),
        Some('0') if body.len() == 1 => out.push('\0'),
        Some('\n') | Some('\r') | Some('\u{2028}') | Some('\u{2029}') => {} // line continuation
        Some('x') => match u32::from_str_radix(chars.as_str(), 16).ok().and_then(char::from_u32) {
            Some(c) => out.push(c),
            None => out.push_str(seq),
        },
        Some('u') => {
            let hex = chars.as_str().trim_start_matches('{').trim_end_matches('}');
            match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                Some(c) => out.push(c),
                // A lone surrogate half: keep the replacement character rather than failing.
                None => out.push('\u{fffd}'),
            }
        }
        Some(c) => out.push(c),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_every_notation() {
        assert_eq!(parse_number("0x10"), Some(Value::from(16)));
        assert_eq!(parse_number("-0.5"), Some(Value::from(-0.5)));
        assert_eq!(parse_number("1_000"), Some(Value::from(1000)));
        assert_eq!(parse_number("1e3"), Some(Value::from(1000.0)));
    }

    #[test]
    fn escapes_decode() {
        let mut s = String::new();
        for e in [r"\n", r"\u00e9", r"\u{1F600}", r"\x41", r"\'"] {
            decode_escape(e, &mut s);
        }
        assert_eq!(s, "\né😀A'");
    }

    #[test]
    fn default_const_names_map_to_keys() {
        assert_eq!(default_const_key("defaultDealStages"), Some("dealStages"));
        assert_eq!(default_const_key("defaultTitle"), Some("title"));
        assert_eq!(default_const_key("defaultConfiguration"), None);
        assert_eq!(default_const_key("dealStages"), None);
    }
}
