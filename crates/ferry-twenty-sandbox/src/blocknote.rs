//! RICH_TEXT_V2: markdown → BlockNote JSON (what the server generates, 72/74) and BlockNote → markdown.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde_json::{Map, Value, json};

/// Fills the missing half of a rich text value: blocknote from markdown, or markdown from blocknote.
pub fn complete_rich_text(rt: &mut Map<String, Value>) {
    let markdown = rt.get("markdown").and_then(Value::as_str).map(str::to_string);
    let blocknote = rt.get("blocknote").and_then(Value::as_str).map(str::to_string);
    match (markdown, blocknote) {
        (Some(md), None) => {
            rt.insert("blocknote".into(), Value::String(markdown_to_blocknote(&md)));
        }
        (None, Some(bn)) => {
            if let Some(md) = blocknote_to_markdown(&bn) {
                rt.insert("markdown".into(), Value::String(md));
            }
        }
        _ => {}
    }
    let ordered: Map<String, Value> =
        ["blocknote", "markdown"].iter().map(|k| (k.to_string(), rt.get(*k).cloned().unwrap_or(Value::Null))).collect();
    *rt = ordered;
}

fn default_props() -> Map<String, Value> {
    let mut p = Map::new();
    p.insert("textColor".into(), json!("default"));
    p.insert("backgroundColor".into(), json!("default"));
    p.insert("textAlignment".into(), json!("left"));
    p
}

fn block(kind: &str, props: Map<String, Value>, content: Vec<Value>) -> Value {
    let mut b = Map::new();
    b.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    b.insert("type".into(), json!(kind));
    b.insert("props".into(), Value::Object(props));
    b.insert("content".into(), Value::Array(content));
    b.insert("children".into(), json!([]));
    Value::Object(b)
}

#[derive(Default, Clone)]
struct Styles {
    bold: bool,
    italic: bool,
    strike: bool,
}

impl Styles {
    fn json(&self, code: bool) -> Value {
        let mut m = Map::new();
        if self.bold {
            m.insert("bold".into(), json!(true));
        }
        if self.italic {
            m.insert("italic".into(), json!(true));
        }
        if self.strike {
            m.insert("strike".into(), json!(true));
        }
        if code {
            m.insert("code".into(), json!(true));
        }
        Value::Object(m)
    }
}

/// Inline content being collected for the current block.
#[derive(Default)]
struct Inline {
    items: Vec<Value>,
    link: Option<(String, Vec<Value>)>,
}

impl Inline {
    fn push_text(&mut self, text: &str, styles: Value) {
        let target = match &mut self.link {
            Some((_, items)) => items,
            None => &mut self.items,
        };
        if let Some(last) = target.last_mut()
            && last.get("type") == Some(&json!("text"))
            && last.get("styles") == Some(&styles)
            && let Some(Value::String(t)) = last.get_mut("text")
        {
            t.push_str(text);
            return;
        }
        target.push(json!({"type": "text", "text": text, "styles": styles}));
    }
}

struct Frame {
    kind: String,
    props: Map<String, Value>,
    children: Vec<Value>,
}

/// Converts markdown into a BlockNote document (JSON string): paragraphs, headings, bullet/numbered/check lists
/// (nested as children), quotes, code blocks; bold, italic, strike, code and links inline.
pub fn markdown_to_blocknote(md: &str) -> String {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_TASKLISTS);
    let parser = Parser::new_ext(md, opts);
    let mut top: Vec<Value> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut lists: Vec<bool> = Vec::new();
    let mut styles = Styles::default();
    let mut inline = Inline::default();
    let mut block_kind: Option<(String, Map<String, Value>)> = None;
    let mut code_text = String::new();

    fn emit(top: &mut Vec<Value>, frames: &mut [Frame], b: Value) {
        match frames.last_mut() {
            Some(f) => f.children.push(b),
            None => top.push(b),
        }
    }

    for ev in parser {
        match ev {
            Event::Start(Tag::Paragraph) if block_kind.is_none() => {
                block_kind = Some(("paragraph".into(), default_props()));
            }
            Event::End(TagEnd::Paragraph) => {
                if let Some(f) = frames.last_mut()
                    && f.kind != "quote"
                    && f.props.contains_key("__pending")
                {
                    f.props.remove("__pending");
                    let items = std::mem::take(&mut inline.items);
                    f.props.insert("__content".into(), Value::Array(items));
                    block_kind = None;
                    continue;
                }
                if let Some((k, p)) = block_kind.take() {
                    let items = std::mem::take(&mut inline.items);
                    emit(&mut top, &mut frames, block(&k, p, items));
                }
            }
            Event::Start(Tag::Heading { level, .. }) => {
                let mut p = default_props();
                let n = match level {
                    HeadingLevel::H1 => 1,
                    HeadingLevel::H2 => 2,
                    HeadingLevel::H3 => 3,
                    HeadingLevel::H4 => 4,
                    HeadingLevel::H5 => 5,
                    HeadingLevel::H6 => 6,
                };
                p.insert("level".into(), json!(n));
                block_kind = Some(("heading".into(), p));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((k, p)) = block_kind.take() {
                    let items = std::mem::take(&mut inline.items);
                    emit(&mut top, &mut frames, block(&k, p, items));
                }
            }
            Event::Start(Tag::List(start)) => {
                settle_item_content(&mut frames, &mut inline);
                lists.push(start.is_some());
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
            }
            Event::Start(Tag::Item) => {
                settle_item_content(&mut frames, &mut inline);
                let numbered = lists.last().copied().unwrap_or(false);
                let mut props = default_props();
                props.insert("__pending".into(), json!(true));
                frames.push(Frame {
                    kind: if numbered { "numberedListItem".into() } else { "bulletListItem".into() },
                    props,
                    children: Vec::new(),
                });
                block_kind = None;
            }
            Event::TaskListMarker(checked) => {
                if let Some(f) = frames.last_mut() {
                    f.kind = "checkListItem".into();
                    f.props.insert("checked".into(), json!(checked));
                }
            }
            Event::End(TagEnd::Item) => {
                if let Some(mut f) = frames.pop() {
                    let content = match f.props.remove("__content") {
                        Some(Value::Array(items)) => items,
                        _ => std::mem::take(&mut inline.items),
                    };
                    f.props.remove("__pending");
                    let mut b = block(&f.kind, f.props, content);
                    if let Some(obj) = b.as_object_mut() {
                        obj.insert("children".into(), Value::Array(f.children));
                    }
                    emit(&mut top, &mut frames, b);
                }
            }
            Event::Start(Tag::BlockQuote(_)) => {
                block_kind = Some(("quote".into(), default_props()));
            }
            Event::End(TagEnd::BlockQuote(_)) => {
                if let Some((k, p)) = block_kind.take() {
                    let items = std::mem::take(&mut inline.items);
                    emit(&mut top, &mut frames, block(&k, p, items));
                }
            }
            Event::Start(Tag::CodeBlock(_)) => code_text.clear(),
            Event::End(TagEnd::CodeBlock) => {
                let mut p = Map::new();
                p.insert("language".into(), json!("text"));
                let text = code_text.trim_end_matches('\n').to_string();
                let content = vec![json!({"type": "text", "text": text, "styles": {}})];
                emit(&mut top, &mut frames, block("codeBlock", p, content));
                code_text.clear();
            }
            Event::Start(Tag::Strong) => styles.bold = true,
            Event::End(TagEnd::Strong) => styles.bold = false,
            Event::Start(Tag::Emphasis) => styles.italic = true,
            Event::End(TagEnd::Emphasis) => styles.italic = false,
            Event::Start(Tag::Strikethrough) => styles.strike = true,
            Event::End(TagEnd::Strikethrough) => styles.strike = false,
            Event::Start(Tag::Link { dest_url, .. }) => inline.link = Some((dest_url.to_string(), Vec::new())),
            Event::End(TagEnd::Link) => {
                if let Some((href, content)) = inline.link.take() {
                    inline.items.push(json!({"type": "link", "href": href, "content": content}));
                }
            }
            Event::Text(t) => {
                if code_text.is_empty() && block_kind.is_none() && frames.is_empty() && !t.is_empty() {
                    // Text outside any block (should not happen with CommonMark), kept as a paragraph.
                    block_kind = Some(("paragraph".into(), default_props()));
                }
                if block_kind.is_none() && frames.is_empty() {
                    code_text.push_str(&t);
                } else {
                    inline.push_text(&t, styles.json(false));
                }
            }
            Event::Code(t) => inline.push_text(&t, styles.json(true)),
            Event::SoftBreak | Event::HardBreak => inline.push_text("\n", styles.json(false)),
            Event::Html(t) | Event::InlineHtml(t) => inline.push_text(&t, styles.json(false)),
            _ => {}
        }
    }
    Value::Array(top).to_string()
}

/// Moves the inline content collected so far into the open list item (before a nested list starts).
fn settle_item_content(frames: &mut [Frame], inline: &mut Inline) {
    if let Some(f) = frames.last_mut()
        && f.props.contains_key("__pending")
        && !inline.items.is_empty()
    {
        f.props.remove("__pending");
        f.props.insert("__content".into(), Value::Array(std::mem::take(&mut inline.items)));
    }
}

fn inline_to_markdown(items: &[Value]) -> String {
    let mut out = String::new();
    for it in items {
        match it.get("type").and_then(Value::as_str) {
            Some("link") => {
                let inner =
                    inline_to_markdown(it.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]));
                let href = it.get("href").and_then(Value::as_str).unwrap_or_default();
                out.push_str(&format!("[{inner}]({href})"));
            }
            _ => {
                let text = it.get("text").and_then(Value::as_str).unwrap_or_default();
                let st = it.get("styles");
                let flag = |k: &str| st.and_then(|s| s.get(k)).and_then(Value::as_bool).unwrap_or(false);
                let mut t = text.to_string();
                if flag("code") {
                    t = format!("`{t}`");
                }
                if flag("strike") {
                    t = format!("~~{t}~~");
                }
                if flag("italic") {
                    t = format!("*{t}*");
                }
                if flag("bold") {
                    t = format!("**{t}**");
                }
                out.push_str(&t);
            }
        }
    }
    out
}

fn blocks_to_markdown(blocks: &[Value], indent: usize, out: &mut Vec<String>) {
    let mut number = 0;
    for b in blocks {
        let kind = b.get("type").and_then(Value::as_str).unwrap_or("paragraph");
        let content = inline_to_markdown(b.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]));
        let pad = " ".repeat(indent);
        if kind != "numberedListItem" {
            number = 0;
        }
        let line = match kind {
            "heading" => {
                let level = b.get("props").and_then(|p| p.get("level")).and_then(Value::as_u64).unwrap_or(1) as usize;
                format!("{} {content}", "#".repeat(level.clamp(1, 6)))
            }
            "bulletListItem" => format!("{pad}- {content}"),
            "numberedListItem" => {
                number += 1;
                format!("{pad}{number}. {content}")
            }
            "checkListItem" => {
                let checked = b.get("props").and_then(|p| p.get("checked")).and_then(Value::as_bool).unwrap_or(false);
                format!("{pad}- [{}] {content}", if checked { "x" } else { " " })
            }
            "quote" => format!("> {content}"),
            "codeBlock" => format!("```\n{content}\n```"),
            _ => content,
        };
        out.push(line);
        if let Some(children) = b.get("children").and_then(Value::as_array)
            && !children.is_empty()
        {
            blocks_to_markdown(children, indent + 2, out);
        }
    }
}

/// Converts a BlockNote document (JSON string) into markdown; `None` when it is not a block list.
pub fn blocknote_to_markdown(bn: &str) -> Option<String> {
    let v: Value = serde_json::from_str(bn).ok()?;
    let blocks = v.as_array()?;
    let mut lines = Vec::new();
    blocks_to_markdown(blocks, 0, &mut lines);
    let mut md = String::new();
    let mut prev_list = false;
    for (i, l) in lines.iter().enumerate() {
        let is_list =
            l.trim_start().starts_with("- ") || l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit());
        if i > 0 {
            md.push_str(if is_list && prev_list { "\n" } else { "\n\n" });
        }
        md.push_str(l);
        prev_list = is_list;
    }
    if !md.is_empty() {
        md.push('\n');
    }
    Some(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip_ids(s: &str) -> Value {
        let mut v: Value = serde_json::from_str(s).expect("json");
        fn walk(v: &mut Value) {
            match v {
                Value::Object(m) => {
                    if m.contains_key("id") && m.contains_key("props") {
                        m.insert("id".into(), json!("<id>"));
                    }
                    m.values_mut().for_each(walk);
                }
                Value::Array(a) => a.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        v
    }

    #[test]
    fn task_markdown_becomes_the_recorded_blocks() {
        let md = "# Call Ada\n\n- ask about the **renewal**\n- send the [deck](https://example.com/deck)\n";
        let got = strip_ids(&markdown_to_blocknote(md));
        let props = json!({"textColor": "default", "backgroundColor": "default", "textAlignment": "left"});
        let expected = json!([
            {"id": "<id>", "type": "heading", "props": {"textColor": "default", "backgroundColor": "default", "textAlignment": "left", "level": 1},
             "content": [{"type": "text", "text": "Call Ada", "styles": {}}], "children": []},
            {"id": "<id>", "type": "bulletListItem", "props": props,
             "content": [{"type": "text", "text": "ask about the ", "styles": {}}, {"type": "text", "text": "renewal", "styles": {"bold": true}}], "children": []},
            {"id": "<id>", "type": "bulletListItem", "props": props,
             "content": [{"type": "text", "text": "send the ", "styles": {}},
                         {"type": "link", "href": "https://example.com/deck", "content": [{"type": "text", "text": "deck", "styles": {}}]}], "children": []}
        ]);
        assert_eq!(got, expected);
        // Key order as recorded: id, type, props, content, children.
        let raw = markdown_to_blocknote(md);
        assert!(raw.starts_with(r#"[{"id":""#), "{raw}");
        assert!(raw.contains(r#""type":"heading","props":{"textColor":"default","backgroundColor":"default","textAlignment":"left","level":1},"content""#));
    }

    #[test]
    fn note_markdown_paragraph_and_numbered_list() {
        let got = strip_ids(&markdown_to_blocknote("Kickoff with **Acme**.\n\n1. scope\n2. timeline\n"));
        let arr = got.as_array().expect("array");
        assert_eq!(arr.len(), 3);
        assert_eq!(arr[0]["type"], json!("paragraph"));
        assert_eq!(arr[0]["content"][2], json!({"type": "text", "text": ".", "styles": {}}));
        assert_eq!(arr[1]["type"], json!("numberedListItem"));
        assert_eq!(arr[2]["content"][0]["text"], json!("timeline"));
    }

    #[test]
    fn nested_lists_become_children_and_round_trip_to_markdown() {
        let bn = markdown_to_blocknote("- a\n  - b\n- c\n");
        let v: Value = serde_json::from_str(&bn).expect("json");
        assert_eq!(v[0]["children"][0]["content"][0]["text"], json!("b"));
        assert_eq!(blocknote_to_markdown(&bn).as_deref(), Some("- a\n  - b\n- c\n"));
    }
}
