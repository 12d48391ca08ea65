//! Proposing a migration plan from a source's and a destination's data models, with generic rules only.
//!
//! [`propose`] matches every source object to a destination object and every source field to a destination field,
//! and writes why next to each proposal. It never names a vendor: what it knows is a small CRM vocabulary.
//!
//! **Objects** match by name (singular or plural), then by the CRM vocabulary (a contact is a person, a deal an
//! opportunity, an organisation or account a company…), then by the last word of a compound name (`contact_notes`
//! → `note`), then by name similarity. A source object with no match becomes a new custom object. The source's
//! users object is not loaded (relations to it resolve to destination members); objects the source lists in
//! `not_migrated` (by name) are not loaded either.
//!
//! **Fields**, for each matched object:
//! - the source key is not a field (the destination id is derived from it; the journal keeps the pair);
//! - fields of kind `files` become attachments;
//! - references — a `relation` field, or an `array` field with a `target` (an array of keys) — become relations: to
//!   the users object → the destination object's member relation (a relation to the destination's members object,
//!   which is the target of relation fields that is not a listed object and is called …member… or …user…); to
//!   another object → the destination relation field pointing at its destination object; when there is none, a
//!   link through a join object (a destination object named after the parent, e.g. `noteTarget` for `note`, or one
//!   whose only relations are to the two objects) — for an array of keys, the destination relation takes the
//!   first key and every key is linked through a join object (created when none exists), named in `lossy`; else a
//!   new relation field. A new relation field `n` is written under `{n}Id`, as destinations list join columns;
//! - composites: first + last name → the full-name field; address, city, state, postcode, country columns → the
//!   address field ([`Transform::AddressParts`]);
//! - the rest by normalised name (snake_case = camelCase, singular = plural), then a synonyms table (title ≈
//!   jobTitle, website ≈ domainName…), then type compatibility (the only field of a structured kind such as e-mails
//!   or currency), then label similarity (`strsim`), always with compatible kinds;
//! - a completion date (`done_date`, `completed_at`…) also sets a status select with done/to-do options
//!   ([`Transform::Presence`]); a text destination field `title`/`name` nothing fills gets the first line of the
//!   body ([`Transform::FirstLine`]);
//! - select options map by value or label; missing ones are added (values in UPPER_SNAKE_CASE when every option of
//!   the destination is written so);
//! - a source field with no match becomes a new custom field of its kind (selects with their options).
//!
//! Objects are ordered parents first. Every lossy transform is listed in [`Plan::lossy`] with what happens, and
//! users are matched to members by e-mail, case-insensitively (the unmatched ones form the reconciliation list).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::plan::{
    AttachmentPlan, Creations, Endpoint, FieldPlan, LinkPlan, Lossy, MemberMatch, NewField, NewObject, NewOptions,
    NotMigrated, ObjectPlan, PLAN_VERSION, Plan, RelationPlan, UsersPlan,
};
use crate::schema::{FieldDef, FieldKind, ObjectDef, SelectOption};
use crate::transform::Transform;
use crate::workspace::Member;

/// The currency amounts are taken to be in when the source names none.
pub const DEFAULT_CURRENCY: &str = "USD";

/// What a source holds, as the proposer needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceModel {
    pub endpoint: Endpoint,
    /// Objects with their fields. Select and multi-select fields carry their options (`value` = what records
    /// store). A reference is a `relation` field with a `target`, or an `array` field with a `target` (an array of
    /// keys).
    pub objects: Vec<ObjectDef>,
    /// The object holding users, and its e-mail field.
    pub users: Option<UsersPlan>,
    /// The users' e-mails.
    pub user_emails: Vec<String>,
    /// The currency of amounts (ISO 4217), when the source says.
    pub currency: Option<String>,
    /// What will not migrate, with why. An entry whose `name` is an object's name keeps that object from loading.
    pub not_migrated: Vec<NotMigrated>,
    /// Anything worth telling the person who reads the plan (printed, not kept in the plan).
    pub notes: Vec<String>,
}

/// What a destination holds, as the proposer needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationModel {
    pub endpoint: Endpoint,
    /// Writable objects with their writable fields; relations listed under their join columns (`companyId`).
    pub objects: Vec<ObjectDef>,
    pub members: Vec<Member>,
}

/// Proposes a plan that loads `source` into `dest`, with its journal at `journal`. Writes nothing anywhere.
pub fn propose(source: &SourceModel, dest: &DestinationModel, journal: PathBuf) -> Plan {
    let mut p = Proposer::new(source, dest);
    let objects = p.plan_objects();
    let objects = order_parents_first(objects, source.users.as_ref().map(|u| u.object.as_str()));
    Plan {
        version: PLAN_VERSION,
        source: source.endpoint.clone(),
        destination: dest.endpoint.clone(),
        journal,
        users: source.users.clone(),
        members: match_members(&source.user_emails, &dest.members),
        create: p.create,
        objects,
        lossy: p.lossy,
        not_migrated: p.not_migrated,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// names

/// The words of a name: snake_case, camelCase, kebab-case and spaces split, lower-cased (`linkedin_url` →
/// `linkedin url`, `bodyV2` → `body v2`).
pub fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if !ch.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
        cur.extend(ch.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A name without case or separators (`first_name` and `firstName` → `firstname`).
fn norm(name: &str) -> String {
    words(name).concat()
}

/// The singular of an English word, for names (`companies` → `company`, `people` → `person`).
pub fn singular(word: &str) -> String {
    let w = word.to_string();
    if let Some(head) = w.strip_suffix("people") {
        return format!("{head}person");
    }
    if let Some(head) = w.strip_suffix("ies")
        && !head.is_empty()
    {
        return format!("{head}y");
    }
    for suffix in ["sses", "xes", "ches", "shes"] {
        if w.ends_with(suffix) {
            return w[..w.len() - 2].to_string();
        }
    }
    if w.ends_with("ss") || w.ends_with("us") || w.ends_with("is") || !w.ends_with('s') || w.len() < 3 {
        return w;
    }
    w[..w.len() - 1].to_string()
}

/// The plural of an English word (`company` → `companies`, `person` → `people`).
pub fn plural(word: &str) -> String {
    if let Some(head) = word.strip_suffix("person") {
        return format!("{head}people");
    }
    let consonant_y =
        word.ends_with('y') && word.len() > 1 && !"aeiou".contains(word.chars().rev().nth(1).unwrap_or('a'));
    if consonant_y {
        return format!("{}ies", &word[..word.len() - 1]);
    }
    if ["s", "x", "ch", "sh"].iter().any(|s| word.ends_with(s)) {
        return format!("{word}es");
    }
    format!("{word}s")
}

/// camelCase of words.
fn camel(words: &[String]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i == 0 {
            out.push_str(w);
        } else {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                out.extend(f.to_uppercase());
                out.push_str(c.as_str());
            }
        }
    }
    out
}

/// "First word capitalised, the rest as they are".
fn sentence(words: &[String]) -> String {
    let joined = words.join(" ");
    let mut c = joined.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => joined,
    }
}

/// The singular form of a whole name, last word singularised.
fn singular_words(name: &str) -> Vec<String> {
    let mut w = words(name);
    if let Some(last) = w.pop() {
        w.push(singular(&last));
    }
    w
}

/// A name's stem as a reference: `company_id` → `company`, `contact_ids` → `contact`.
fn reference_stem(name: &str) -> Vec<String> {
    let mut w = words(name);
    if w.len() > 1 && matches!(w.last().map(String::as_str), Some("id" | "ids" | "key" | "keys" | "ref" | "refs")) {
        let last = w.pop().unwrap_or_default();
        if last.ends_with('s')
            && let Some(prev) = w.pop()
        {
            w.push(singular(&prev));
        }
    }
    w
}

/// Objects that play the same role in a CRM, by singular normalised name.
const OBJECT_VOCABULARY: &[&[&str]] = &[
    &["person", "contact", "lead", "individual"],
    &["company", "organisation", "organization", "account", "business"],
    &["opportunity", "deal"],
    &["task", "todo"],
    &["note", "memo"],
];

fn concept(name: &str) -> Option<usize> {
    OBJECT_VOCABULARY.iter().position(|group| group.contains(&name))
}

/// Source field name → destination field name, both normalised: what the two usually mean alike.
const FIELD_SYNONYMS: &[(&str, &str)] = &[
    ("title", "jobtitle"),
    ("position", "jobtitle"),
    ("website", "domainname"),
    ("url", "domainname"),
    ("domain", "domainname"),
    ("size", "employees"),
    ("employeecount", "employees"),
    ("numberofemployees", "employees"),
    ("duedate", "dueat"),
    ("deadline", "dueat"),
    ("expectedclosingdate", "closedate"),
    ("closingdate", "closedate"),
    ("expectedclosedate", "closedate"),
    ("text", "bodyv2"),
    ("body", "bodyv2"),
    ("content", "bodyv2"),
    ("date", "createdat"),
    ("createdon", "createdat"),
    ("creationdate", "createdat"),
    ("updatedon", "updatedat"),
    ("linkedinurl", "linkedinlink"),
    ("linkedin", "linkedinlink"),
    ("twitter", "xlink"),
    ("twitterurl", "xlink"),
    ("email", "emails"),
    ("emailaddress", "emails"),
    ("phone", "phones"),
    ("phonenumber", "phones"),
    ("value", "amount"),
];

/// Names of a completion date: when set, the record is done.
const COMPLETION_FIELDS: &[&str] =
    &["donedate", "doneat", "completedat", "completeddate", "completedon", "finishedat", "completiondate"];
const DONE_OPTIONS: &[&str] = &["done", "completed", "complete", "finished"];
const TODO_OPTIONS: &[&str] = &["todo", "open", "notstarted", "pending"];

const FIRST_NAMES: &[&str] = &["firstname", "givenname", "forename"];
const LAST_NAMES: &[&str] = &["lastname", "surname", "familyname"];
/// Address parts ([`Transform::AddressParts`]) and the source names that hold them.
const ADDRESS_NAMES: &[(&str, &[&str])] = &[
    ("street1", &["address", "street", "street1", "address1", "addressline1", "streetaddress"]),
    ("street2", &["street2", "address2", "addressline2"]),
    ("city", &["city", "town"]),
    ("state", &["state", "stateabbr", "region", "province"]),
    ("postcode", &["zipcode", "zip", "postcode", "postalcode"]),
    ("country", &["country", "countrycode"]),
];

/// Label similarity at or above which two fields are proposed as the same.
const SIMILAR: f64 = 0.92;

fn similarity(a: &str, b: &str) -> f64 {
    strsim::jaro_winkler(&norm(a), &norm(b))
}

// ---------------------------------------------------------------------------------------------------------------
// the proposer

struct Proposer<'a> {
    src: &'a SourceModel,
    /// The destination as it will be: what exists plus what this plan creates.
    dest: Vec<ObjectDef>,
    /// `object.field` of destination fields that exist already (options added to them are `NewOptions`).
    existing_fields: BTreeSet<String>,
    members_object: Option<String>,
    upper_options: bool,
    /// Source object → (destination object, why).
    object_map: BTreeMap<String, (String, String)>,
    create: Creations,
    lossy: Vec<Lossy>,
    not_migrated: Vec<NotMigrated>,
}

impl<'a> Proposer<'a> {
    fn new(src: &'a SourceModel, dest: &DestinationModel) -> Self {
        let existing_fields =
            dest.objects.iter().flat_map(|o| o.fields.iter().map(move |f| format!("{}.{}", o.name, f.name))).collect();
        let all_options: Vec<&SelectOption> =
            dest.objects.iter().flat_map(|o| o.fields.iter()).flat_map(|f| f.options.iter()).collect();
        let upper_options = !all_options.is_empty() && all_options.iter().all(|o| is_upper_snake(&o.value));
        let mut not_migrated = src.not_migrated.clone();
        if let Some(users) = &src.users
            && !not_migrated.iter().any(|n| n.name == users.object)
        {
            not_migrated.push(NotMigrated {
                kind: "object".into(),
                name: users.object.clone(),
                what: format!("{} users", src.user_emails.len()),
                why: "users are not loaded as records: each one is matched to a destination member by e-mail \
                      (see `members`), and what they own is assigned to that member"
                    .into(),
            });
        }
        Proposer {
            src,
            members_object: members_object(&dest.objects),
            dest: dest.objects.clone(),
            existing_fields,
            upper_options,
            object_map: BTreeMap::new(),
            create: Creations::default(),
            lossy: Vec::new(),
            not_migrated,
        }
    }

    fn users_object(&self) -> Option<&str> {
        self.src.users.as_ref().map(|u| u.object.as_str())
    }

    fn loaded(&self, o: &ObjectDef) -> bool {
        Some(o.name.as_str()) != self.users_object() && !self.src.not_migrated.iter().any(|n| n.name == o.name)
    }

    fn dest_object(&self, name: &str) -> Option<&ObjectDef> {
        self.dest.iter().find(|o| o.name == name)
    }

    /// The relation fields of destination object `object` that point at `target` and are not `filled` yet.
    fn free_relations(&self, object: &str, target: &str, filled: &BTreeSet<String>) -> Vec<String> {
        self.dest_object(object)
            .map(|o| {
                o.fields
                    .iter()
                    .filter(|d| d.kind == FieldKind::Relation && d.target.as_deref() == Some(target))
                    .filter(|d| !filled.contains(&d.name))
                    .map(|d| d.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn dest_object_mut(&mut self, name: &str) -> &mut ObjectDef {
        let i = self.dest.iter().position(|o| o.name == name).expect("destination objects are known before use");
        &mut self.dest[i]
    }

    fn plan_objects(&mut self) -> Vec<ObjectPlan> {
        let loaded: Vec<&ObjectDef> = self.src.objects.iter().filter(|o| self.loaded(o)).collect();
        let existing: Vec<ObjectDef> = self.dest.clone();
        for so in &loaded {
            let (name, reason) = match match_object(so, &existing) {
                Some(m) => m,
                None => {
                    let name = self.new_object(
                        &singular_words(&so.name),
                        format!("no destination object matches {}: a custom object keeps its records", so.name),
                    );
                    let reason = format!("no destination object matches {}: created as custom object {name}", so.name);
                    (name, reason)
                }
            };
            self.object_map.insert(so.name.clone(), (name, reason));
        }
        loaded.into_iter().map(|so| self.plan_object(so)).collect()
    }

    /// Plans a new object named after `words` (made unique), returns its name.
    fn new_object(&mut self, words: &[String], reason: String) -> String {
        let base = camel(words);
        let mut name = base.clone();
        let mut n = 2;
        while self.dest.iter().any(|o| norm(&o.name) == norm(&name)) {
            name = format!("{base}{n}");
            n += 1;
        }
        let mut plural_words = words.to_vec();
        if let Some(last) = plural_words.pop() {
            plural_words.push(plural(&last));
        }
        let plural_name =
            if name == base { camel(&plural_words) } else { format!("{}{}", camel(&plural_words), n - 1) };
        self.create.objects.push(NewObject {
            name: name.clone(),
            label: sentence(words),
            plural: plural_name,
            plural_label: sentence(&plural_words),
            reason,
        });
        self.dest.push(ObjectDef {
            name: name.clone(),
            label: sentence(words),
            custom: true,
            key: "id".into(),
            fields: vec![],
        });
        name
    }

    /// Plans a new field (or extends the planned one of the same name); returns the name it is written under.
    fn new_field(&mut self, field: NewField) -> String {
        let written = if field.kind == FieldKind::Relation { format!("{}Id", field.name) } else { field.name.clone() };
        if let Some(existing) = self.create.fields.iter_mut().find(|f| f.object == field.object && f.name == field.name)
        {
            for o in field.options {
                if !existing.options.iter().any(|e| e.value == o.value) {
                    let mut o = o;
                    o.position = existing.options.len() as u32;
                    existing.options.push(o);
                }
            }
            return written;
        }
        let def = FieldDef {
            custom: true,
            options: field.options.clone(),
            target: field.target.clone(),
            ..FieldDef::new(written.clone(), field.label.clone(), field.kind)
        };
        self.dest_object_mut(&field.object).fields.push(def);
        self.create.fields.push(field);
        written
    }

    fn plan_object(&mut self, so: &ObjectDef) -> ObjectPlan {
        let (dname, reason) = self.object_map[&so.name].clone();
        let mut op = ObjectPlan {
            source: so.name.clone(),
            destination: dname.clone(),
            skip: false,
            reason,
            fields: vec![],
            relations: vec![],
            links: vec![],
            attachments: vec![],
        };
        let mut filled: BTreeSet<String> = BTreeSet::new();
        let mut pending: Vec<&FieldDef> = Vec::new();
        for f in &so.fields {
            if f.name == so.key {
                continue;
            }
            match f.kind {
                FieldKind::Files => op.attachments.push(AttachmentPlan {
                    source: f.name.clone(),
                    reason: format!(
                        "{}.{} holds files: each one is uploaded and attached to its {dname} record",
                        so.name, f.name
                    ),
                }),
                FieldKind::Relation | FieldKind::Array if f.target.is_some() => {
                    self.plan_reference(so, f, &dname, &mut op, &mut filled)
                }
                _ => pending.push(f),
            }
        }
        self.composites(&dname, &mut pending, &mut op, &mut filled);
        let mut unmatched = Vec::new();
        for f in pending {
            match self.match_field(so, f, &dname, &filled) {
                Some(fp) => {
                    filled.insert(fp.destination.clone());
                    op.fields.push(fp);
                }
                None => unmatched.push(f),
            }
        }
        for f in unmatched {
            self.completion(so, f, &dname, &mut op, &mut filled);
            let fp = self.custom_field(so, f, &dname);
            filled.insert(fp.destination.clone());
            op.fields.push(fp);
        }
        self.title_from_body(&dname, &mut op, &filled);
        op
    }

    /// A relation or an array of keys.
    fn plan_reference(
        &mut self,
        so: &ObjectDef,
        f: &FieldDef,
        dname: &str,
        op: &mut ObjectPlan,
        filled: &mut BTreeSet<String>,
    ) {
        let target = f.target.clone().unwrap_or_default();
        let many = f.kind == FieldKind::Array;
        if Some(target.as_str()) == self.users_object() {
            self.member_relation(so, f, dname, op, filled);
            return;
        }
        let Some((dt, _)) = self.object_map.get(&target).cloned() else {
            self.lossy.push(Lossy {
                object: so.name.clone(),
                field: f.name.clone(),
                what: format!(
                    "points at {target}, which is not migrated (see not_migrated): the reference is not kept"
                ),
            });
            return;
        };
        let candidates = self.free_relations(dname, &dt, filled);
        let best = best_by_name(&f.name, &candidates);
        if let Some(dfield) = best {
            filled.insert(dfield.clone());
            let why = if candidates.len() == 1 {
                format!("the only relation from {dname} to {dt}")
            } else {
                format!("the relation from {dname} to {dt} whose name is closest to {}", f.name)
            };
            op.relations.push(RelationPlan {
                destination: dfield.clone(),
                source: f.name.clone(),
                target: target.clone(),
                required: !many && !f.nullable,
                reason: if many { format!("{why}; it takes the first key of the array") } else { why },
            });
            if many {
                let (join, parent, field) = self.join_for_many(so, f, dname, &dt);
                op.links.push(LinkPlan {
                    destination: join.clone(),
                    parent: parent.clone(),
                    field: field.clone(),
                    source: f.name.clone(),
                    target: target.clone(),
                    reason: format!("every key of {} is kept as one {join} record ({parent} → {field})", f.name),
                });
                self.lossy.push(Lossy {
                    object: so.name.clone(),
                    field: f.name.clone(),
                    what: format!(
                        "holds several {target} but {dname}.{dfield} holds one: the first becomes {dfield}, and every \
                         one of them (the first included) is linked through {join} records"
                    ),
                });
            }
            return;
        }
        if let Some((join, parent, field)) = self.join_object(dname, &dt) {
            op.links.push(LinkPlan {
                destination: join.clone(),
                parent: parent.clone(),
                field: field.clone(),
                source: f.name.clone(),
                target: target.clone(),
                reason: format!(
                    "{dname} has no relation to {dt}: {join} joins them ({parent} → the {dname}, {field} → the {dt})"
                ),
            });
            return;
        }
        if many {
            let (join, parent, field) = self.join_for_many(so, f, dname, &dt);
            op.links.push(LinkPlan {
                destination: join.clone(),
                parent: parent.clone(),
                field: field.clone(),
                source: f.name.clone(),
                target: target.clone(),
                reason: format!("{dname} has no relation to {dt}: every key of {} is one {join} record", f.name),
            });
            return;
        }
        let mut stem = reference_stem(&f.name);
        if stem.is_empty() {
            stem = words(&dt);
        }
        let written = self.new_field(NewField {
            object: dname.to_string(),
            name: camel(&stem),
            label: sentence(&stem),
            kind: FieldKind::Relation,
            options: vec![],
            target: Some(dt.clone()),
            reason: format!("{}.{} points at {target}; {dname} has no relation to {dt}", so.name, f.name),
        });
        filled.insert(written.clone());
        op.relations.push(RelationPlan {
            destination: written,
            source: f.name.clone(),
            target,
            required: !f.nullable,
            reason: format!("new relation from {dname} to {dt}"),
        });
    }

    fn member_relation(
        &mut self,
        so: &ObjectDef,
        f: &FieldDef,
        dname: &str,
        op: &mut ObjectPlan,
        filled: &mut BTreeSet<String>,
    ) {
        let users = self.users_object().unwrap_or_default().to_string();
        let Some(members) = self.members_object.clone() else {
            self.lossy.push(Lossy {
                object: so.name.clone(),
                field: f.name.clone(),
                what: "points at a user, and the destination has no relation to its members: the owner is not kept"
                    .into(),
            });
            return;
        };
        let candidates = self.free_relations(dname, &members, filled);
        let (dfield, reason) = match best_by_name(&f.name, &candidates) {
            Some(d) => {
                let why = if candidates.len() == 1 {
                    format!("{users} are users: the only relation from {dname} to a member ({members})")
                } else {
                    format!("{users} are users: the member relation of {dname} closest to {}", f.name)
                };
                (d, why)
            }
            None => {
                let written = self.new_field(NewField {
                    object: dname.to_string(),
                    name: "owner".into(),
                    label: "Owner".into(),
                    kind: FieldKind::Relation,
                    options: vec![],
                    target: Some(members.clone()),
                    reason: format!(
                        "{}.{} names the user who owns the record; {dname} has no relation to a member",
                        so.name, f.name
                    ),
                });
                (written, format!("{users} are users: a new relation from {dname} to a member ({members})"))
            }
        };
        filled.insert(dfield.clone());
        op.relations.push(RelationPlan {
            destination: dfield,
            source: f.name.clone(),
            target: users,
            required: false,
            reason: format!("{reason}; users resolve to members through `members`"),
        });
    }

    /// A destination object joining `parent` to `target`: named after the parent (`noteTarget` for `note`) or
    /// relating only the two. Returns (object, field → parent, field → target).
    fn join_object(&self, parent: &str, target: &str) -> Option<(String, String, String)> {
        let mut best: Option<(bool, String, String, String)> = None;
        for j in &self.dest {
            if j.name == parent || j.name == target {
                continue;
            }
            let rels: Vec<&FieldDef> = j.fields.iter().filter(|f| f.kind == FieldKind::Relation).collect();
            let to_parent = rels.iter().find(|f| f.target.as_deref() == Some(parent));
            let to_target = rels.iter().find(|f| f.target.as_deref() == Some(target) && parent != target);
            let (Some(a), Some(b)) = (to_parent, to_target) else { continue };
            let named = norm(&j.name).starts_with(&norm(parent));
            let pure = rels.iter().all(|f| matches!(f.target.as_deref(), Some(t) if t == parent || t == target));
            if !(named || pure) {
                continue;
            }
            if best.as_ref().is_none_or(|b| named && !b.0) {
                best = Some((named, j.name.clone(), a.name.clone(), b.name.clone()));
            }
        }
        best.map(|(_, j, a, b)| (j, a, b))
    }

    /// The join object for an array of keys: an existing one, or a new custom object with two relations.
    fn join_for_many(&mut self, so: &ObjectDef, f: &FieldDef, parent: &str, target: &str) -> (String, String, String) {
        if let Some(found) = self.join_object(parent, target) {
            return found;
        }
        let mut stem = reference_stem(&f.name);
        if stem.is_empty() {
            stem = words(target);
        }
        let mut name_words = words(parent);
        name_words.extend(stem.iter().cloned());
        let join = self.new_object(
            &name_words,
            format!(
                "{}.{} holds several {} per record; one {} record per key keeps them all",
                so.name,
                f.name,
                f.target.as_deref().unwrap_or_default(),
                camel(&name_words)
            ),
        );
        let parent_field = self.new_field(NewField {
            object: join.clone(),
            name: camel(&words(parent)),
            label: sentence(&words(parent)),
            kind: FieldKind::Relation,
            options: vec![],
            target: Some(parent.to_string()),
            reason: format!("the {parent} of each {join}"),
        });
        let target_words = if target == parent { stem.clone() } else { words(target) };
        let target_field = self.new_field(NewField {
            object: join.clone(),
            name: camel(&target_words),
            label: sentence(&target_words),
            kind: FieldKind::Relation,
            options: vec![],
            target: Some(target.to_string()),
            reason: format!("the {target} of each {join}"),
        });
        (join, parent_field, target_field)
    }

    /// Full name and address from several source fields.
    fn composites(
        &mut self,
        dname: &str,
        pending: &mut Vec<&FieldDef>,
        op: &mut ObjectPlan,
        filled: &mut BTreeSet<String>,
    ) {
        let Some(dobj) = self.dest_object(dname) else { return };
        let free = |kind: FieldKind, preferred: &str, filled: &BTreeSet<String>| -> Option<String> {
            let all: Vec<&FieldDef> =
                dobj.fields.iter().filter(|d| d.kind == kind && !filled.contains(&d.name)).collect();
            all.iter().find(|d| d.name == preferred).or(all.first()).map(|d| d.name.clone())
        };
        let find = |names: &[&str], pending: &[&FieldDef]| {
            pending
                .iter()
                .find(|f| {
                    matches!(f.kind, FieldKind::Text | FieldKind::Select) && names.contains(&norm(&f.name).as_str())
                })
                .map(|f| f.name.clone())
        };
        let full_name =
            (free(FieldKind::FullName, "name", filled), find(FIRST_NAMES, pending), find(LAST_NAMES, pending));
        if let (Some(dfield), Some(a), Some(b)) = full_name {
            op.fields.push(FieldPlan {
                destination: dfield.clone(),
                source: vec![a.clone(), b.clone()],
                transform: Transform::FullName,
                reason: format!("{a} + {b} make a person's name: {dname}.{dfield} is its full-name field"),
            });
            filled.insert(dfield);
            pending.retain(|f| f.name != a && f.name != b);
        }
        if let Some(dfield) = free(FieldKind::Address, "address", filled) {
            let mut parts = Vec::new();
            let mut sources = Vec::new();
            for (part, names) in ADDRESS_NAMES {
                if let Some(name) = find(names, pending)
                    && !sources.contains(&name)
                {
                    parts.push(part.to_string());
                    sources.push(name);
                }
            }
            if sources.len() >= 2 {
                op.fields.push(FieldPlan {
                    destination: dfield.clone(),
                    source: sources.clone(),
                    transform: Transform::AddressParts { parts },
                    reason: format!(
                        "{} are parts of an address: {dname}.{dfield} is its address field",
                        sources.join(", ")
                    ),
                });
                filled.insert(dfield);
                pending.retain(|f| !sources.contains(&f.name));
            }
        }
    }

    /// The destination field for one source field, with the transform and why.
    fn match_field(
        &mut self,
        so: &ObjectDef,
        f: &FieldDef,
        dname: &str,
        filled: &BTreeSet<String>,
    ) -> Option<FieldPlan> {
        let dobj = self.dest_object(dname)?;
        let candidates: Vec<&FieldDef> = dobj
            .fields
            .iter()
            .filter(|d| !filled.contains(&d.name) && d.name != dobj.key)
            .filter(|d| !matches!(d.kind, FieldKind::Relation | FieldKind::Files))
            .collect();
        let sn = norm(&f.name);
        let mut chosen: Option<(FieldDef, String)> = None;
        // same name
        if let Some(d) = candidates
            .iter()
            .find(|d| (norm(&d.name) == sn || singular(&norm(&d.name)) == singular(&sn)) && compatible(f, d).is_some())
        {
            let why = if d.name == f.name {
                "same name".to_string()
            } else {
                format!("same name ({} ≈ {})", f.name, d.name)
            };
            chosen = Some(((*d).clone(), why));
        }
        // synonyms
        if chosen.is_none()
            && let Some(d) = candidates.iter().find(|d| {
                FIELD_SYNONYMS.iter().any(|(a, b)| *a == sn && *b == norm(&d.name)) && compatible(f, d).is_some()
            })
        {
            chosen = Some(((*d).clone(), format!("known synonym: {} ≈ {}", f.name, d.name)));
        }
        // the only field of a structured kind
        if chosen.is_none()
            && matches!(
                f.kind,
                FieldKind::Emails
                    | FieldKind::Phones
                    | FieldKind::Currency
                    | FieldKind::RichText
                    | FieldKind::FullName
                    | FieldKind::Address
            )
        {
            let same: Vec<&&FieldDef> = candidates.iter().filter(|d| d.kind == f.kind).collect();
            if same.len() == 1 {
                chosen = Some((
                    (**same[0]).clone(),
                    format!("type compatibility: {dname}.{} is its only {} field", same[0].name, f.kind),
                ));
            }
        }
        // label similarity
        if chosen.is_none() {
            let system = ["createdat", "updatedat", "deletedat"];
            let mut best: Option<(f64, &FieldDef)> = None;
            for d in candidates.iter().filter(|d| !system.contains(&norm(&d.name).as_str())) {
                if compatible(f, d).is_none() {
                    continue;
                }
                let score = similarity(&f.name, &d.name).max(similarity(&f.label, &d.label));
                if score >= SIMILAR && best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, d));
                }
            }
            if let Some((score, d)) = best {
                chosen = Some((
                    d.clone(),
                    format!("label similarity {score:.2} ({} ≈ {}), compatible types", f.label, d.label),
                ));
            }
        }
        let (d, why) = chosen?;
        let (transform, lossy) = compatible(f, &d)?;
        let transform = match transform {
            Transform::Select { .. } | Transform::MultiSelect { .. } => {
                let values = self.map_options(so, f, dname, &d);
                if f.kind == FieldKind::MultiSelect {
                    Transform::MultiSelect { values }
                } else {
                    Transform::Select { values }
                }
            }
            Transform::Currency { .. } => {
                let (currency, defaulted) = match &self.src.currency {
                    Some(c) if !c.trim().is_empty() => (c.trim().to_uppercase(), false),
                    _ => (DEFAULT_CURRENCY.to_string(), true),
                };
                self.lossy.push(Lossy {
                    object: so.name.clone(),
                    field: f.name.clone(),
                    what: format!(
                        "amounts become {dname}.{} in micros of {currency} ({}); every amount is taken to be in \
                         that currency",
                        d.name,
                        if defaulted {
                            "the source names no currency: the default"
                        } else {
                            "the source's configured currency"
                        }
                    ),
                });
                Transform::Currency { currency }
            }
            t => t,
        };
        if let Some(what) = lossy {
            self.lossy.push(Lossy { object: so.name.clone(), field: f.name.clone(), what });
        }
        if d.unique && !f.unique {
            self.lossy.push(Lossy {
                object: so.name.clone(),
                field: f.name.clone(),
                what: format!(
                    "{dname}.{} takes a value once, {}.{} may repeat one: a record whose value an earlier record \
                     already has is refused by the destination (reported with both); merge the duplicates in the \
                     source first, or map {} to another field",
                    d.name, so.name, f.name, f.name
                ),
            });
        }
        Some(FieldPlan { destination: d.name.clone(), source: vec![f.name.clone()], transform, reason: why })
    }

    /// Source options → destination options; missing ones are added to the field.
    fn map_options(&mut self, so: &ObjectDef, f: &FieldDef, dname: &str, d: &FieldDef) -> BTreeMap<String, String> {
        let mut values = BTreeMap::new();
        let mut taken: Vec<String> = d.options.iter().map(|o| o.value.clone()).collect();
        let mut added: Vec<SelectOption> = Vec::new();
        for o in &f.options {
            let found = d.options.iter().find(|x| {
                x.value.eq_ignore_ascii_case(&o.value)
                    || norm(&x.value) == norm(&o.value)
                    || norm(&x.label) == norm(&o.label)
                    || x.value == option_value(&o.label, &o.value, true)
            });
            match found {
                Some(x) => {
                    values.insert(o.value.clone(), x.value.clone());
                }
                None if added.iter().any(|x| x.label.eq_ignore_ascii_case(&o.label)) => {
                    let same = added.iter().find(|x| x.label.eq_ignore_ascii_case(&o.label)).map(|x| x.value.clone());
                    values.insert(o.value.clone(), same.unwrap_or_default());
                }
                None => {
                    let value = unique_value(option_value(&o.label, &o.value, self.upper_options), &taken);
                    taken.push(value.clone());
                    values.insert(o.value.clone(), value.clone());
                    added.push(SelectOption {
                        value,
                        label: o.label.clone(),
                        color: o.color.clone(),
                        position: (d.options.len() + added.len()) as u32,
                    });
                }
            }
        }
        if added.is_empty() {
            return values;
        }
        let key = format!("{dname}.{}", d.name);
        if self.existing_fields.contains(&key) {
            match self.create.options.iter_mut().find(|n| n.object == dname && n.field == d.name) {
                Some(n) => n.options.extend(added.iter().cloned()),
                None => self.create.options.push(NewOptions {
                    object: dname.to_string(),
                    field: d.name.clone(),
                    options: added.clone(),
                    reason: format!("options of {}.{} that {dname}.{} lacks", so.name, f.name, d.name),
                }),
            }
        } else if let Some(nf) = self.create.fields.iter_mut().find(|n| n.object == dname && n.name == d.name) {
            nf.options.extend(added.iter().cloned());
        }
        if let Some(df) = self.dest_object_mut(dname).fields.iter_mut().find(|x| x.name == d.name) {
            df.options.extend(added);
        }
        values
    }

    /// A completion date also sets a done/to-do status.
    fn completion(
        &mut self,
        so: &ObjectDef,
        f: &FieldDef,
        dname: &str,
        op: &mut ObjectPlan,
        filled: &mut BTreeSet<String>,
    ) {
        if !matches!(f.kind, FieldKind::Date | FieldKind::DateTime)
            || !COMPLETION_FIELDS.contains(&norm(&f.name).as_str())
        {
            return;
        }
        let Some(dobj) = self.dest_object(dname) else { return };
        let Some(status) = dobj
            .fields
            .iter()
            .find(|d| d.kind == FieldKind::Select && norm(&d.name) == "status" && !filled.contains(&d.name))
        else {
            return;
        };
        let pick = |names: &[&str]| {
            status
                .options
                .iter()
                .find(|o| names.contains(&norm(&o.value).as_str()) || names.contains(&norm(&o.label).as_str()))
                .map(|o| o.value.clone())
        };
        let (Some(done), Some(todo)) = (pick(DONE_OPTIONS), pick(TODO_OPTIONS)) else { return };
        let name = status.name.clone();
        op.fields.push(FieldPlan {
            destination: name.clone(),
            source: vec![f.name.clone()],
            transform: Transform::Presence { present: done.clone(), absent: todo.clone() },
            reason: format!(
                "{}.{} is a completion date: {done} when it is set, {todo} otherwise (the date itself is kept too)",
                so.name, f.name
            ),
        });
        filled.insert(name);
    }

    /// A new custom field for a source field nothing matches.
    fn custom_field(&mut self, so: &ObjectDef, f: &FieldDef, dname: &str) -> FieldPlan {
        let has_options = !f.options.is_empty();
        let kind = match f.kind {
            FieldKind::Uuid => FieldKind::Text,
            FieldKind::Select | FieldKind::MultiSelect if !has_options => FieldKind::Text,
            k => k,
        };
        let mut base = camel(&words(&f.name));
        if base.is_empty() {
            base = "field".into();
        }
        let taken = |n: &str, me: &Self| {
            me.dest_object(dname).is_some_and(|o| o.fields.iter().any(|x| norm(&x.name) == norm(n)))
                && !me.create.fields.iter().any(|x| x.object == dname && x.name == n && x.kind == kind)
        };
        let mut name = base.clone();
        if taken(&name, self) {
            let mut w = words(&base);
            w.extend(words(kind.as_str()));
            name = camel(&w);
        }
        let mut options = Vec::new();
        let mut values = BTreeMap::new();
        if has_options && matches!(kind, FieldKind::Select | FieldKind::MultiSelect) {
            let mut taken_values: Vec<String> = Vec::new();
            for o in &f.options {
                // options with the same label are one option in the destination
                if let Some(same) = options.iter().find(|x: &&SelectOption| x.label.eq_ignore_ascii_case(&o.label)) {
                    values.insert(o.value.clone(), same.value.clone());
                    continue;
                }
                let v = unique_value(option_value(&o.label, &o.value, self.upper_options), &taken_values);
                taken_values.push(v.clone());
                values.insert(o.value.clone(), v.clone());
                options.push(SelectOption {
                    value: v,
                    label: o.label.clone(),
                    color: o.color.clone(),
                    position: options.len() as u32,
                });
            }
        }
        let custom = if f.custom { " (a custom column of the source)" } else { "" };
        let planned_before = self.create.fields.iter().any(|n| n.object == dname && n.name == name);
        let written = self.new_field(NewField {
            object: dname.to_string(),
            name: name.clone(),
            label: f.label.clone(),
            kind,
            options,
            target: None,
            reason: format!(
                "no field of {dname} matches {}.{}{custom}: a custom {kind} field keeps it",
                so.name, f.name
            ),
        });
        // a field planned by another source object may already hold options: add ours
        if planned_before
            && matches!(kind, FieldKind::Select | FieldKind::MultiSelect)
            && let Some(nf) = self.create.fields.iter().find(|n| n.object == dname && n.name == name)
        {
            for o in &f.options {
                if let Some(x) = nf.options.iter().find(|x| x.label == o.label) {
                    values.insert(o.value.clone(), x.value.clone());
                }
            }
        }
        let transform = match kind {
            FieldKind::Select => Transform::Select { values },
            FieldKind::MultiSelect => Transform::MultiSelect { values },
            k => direct_transform(f.kind, k),
        };
        let note = if kind != f.kind { format!(" ({} kept as {kind})", f.kind) } else { String::new() };
        FieldPlan {
            destination: written,
            source: vec![f.name.clone()],
            transform,
            reason: format!("new custom field: nothing in {dname} matches {}{note}", f.name),
        }
    }

    /// `title`/`name` text nothing fills: the first line of the body.
    fn title_from_body(&mut self, dname: &str, op: &mut ObjectPlan, filled: &BTreeSet<String>) {
        let Some(dobj) = self.dest_object(dname) else { return };
        let Some(title) = dobj.fields.iter().find(|d| {
            d.kind == FieldKind::Text && matches!(norm(&d.name).as_str(), "title" | "name") && !filled.contains(&d.name)
        }) else {
            return;
        };
        let Some(body) = op.fields.iter().find(|f| f.transform == Transform::RichText).map(|f| f.source[0].clone())
        else {
            return;
        };
        op.fields.push(FieldPlan {
            destination: title.name.clone(),
            source: vec![body.clone()],
            transform: Transform::FirstLine,
            reason: format!(
                "nothing fills {dname}.{}: the first line of {body} (the whole text stays in the body)",
                title.name
            ),
        });
    }
}

/// Whether a source field can fill a destination field, with the transform and what is lost.
fn compatible(f: &FieldDef, d: &FieldDef) -> Option<(Transform, Option<String>)> {
    use FieldKind as K;
    let empty = BTreeMap::new;
    Some(match (f.kind, d.kind) {
        (K::Text | K::Uuid, K::Text) => (Transform::Text, None),
        (K::RichText, K::Text) => (Transform::Text, None),
        (K::Text | K::RichText, K::RichText) => (
            Transform::RichText,
            Some(format!(
                "Markdown becomes {}'s rich text: what it has no block for (raw HTML, footnotes…) stays as plain text",
                d.name
            )),
        ),
        (K::Number, K::Number) => (Transform::Number, None),
        (K::Number | K::Currency, K::Currency) => (Transform::Currency { currency: DEFAULT_CURRENCY.into() }, None),
        (K::Boolean, K::Boolean) => (Transform::Boolean, None),
        (K::Date, K::Date) => (Transform::Date, None),
        (K::Date | K::DateTime, K::DateTime) => (Transform::DateTime, None),
        (K::DateTime, K::Date) => (Transform::Date, Some("the time of day is dropped: only the date is kept".into())),
        (K::Select, K::Select) if !f.options.is_empty() => (Transform::Select { values: empty() }, None),
        (K::MultiSelect, K::MultiSelect) if !f.options.is_empty() => (Transform::MultiSelect { values: empty() }, None),
        (K::Select, K::Text) => (Transform::Text, None),
        (K::Emails, K::Emails) => (
            Transform::Emails,
            Some("every address is kept (the first as primary); type labels (work, home…) are not".into()),
        ),
        (K::Text, K::Emails) => (Transform::Emails, None),
        (K::Phones, K::Phones) => (
            Transform::Phones,
            Some("every number is kept (the first as primary); type labels (work, mobile…) are not".into()),
        ),
        (K::Text, K::Phones) => (Transform::Phones, None),
        (K::Links | K::Text, K::Links) => (Transform::Links, None),
        (K::Array, K::Array) | (K::RawJson, K::RawJson) => (Transform::Copy, None),
        (K::FullName, K::FullName) => (Transform::FullName, None),
        _ => return None,
    })
}

/// The transform from a source kind to the same (or a text) kind, for new fields.
fn direct_transform(from: FieldKind, to: FieldKind) -> Transform {
    use FieldKind as K;
    match (from, to) {
        (_, K::Text) => Transform::Text,
        (_, K::Number) => Transform::Number,
        (_, K::Boolean) => Transform::Boolean,
        (_, K::Date) => Transform::Date,
        (_, K::DateTime) => Transform::DateTime,
        (_, K::Currency) => Transform::Currency { currency: DEFAULT_CURRENCY.into() },
        (_, K::Emails) => Transform::Emails,
        (_, K::Phones) => Transform::Phones,
        (_, K::Links) => Transform::Links,
        (_, K::RichText) => Transform::RichText,
        (_, K::FullName) => Transform::FullName,
        (_, K::Address) => Transform::Address,
        _ => Transform::Copy,
    }
}

/// The name in `candidates` closest to `source` (the only one when there is one).
fn best_by_name(source: &str, candidates: &[String]) -> Option<String> {
    let stem = camel(&reference_stem(source));
    candidates
        .iter()
        .map(|c| (similarity(&stem, c.trim_end_matches("Id")), c))
        .fold(None, |best: Option<(f64, &String)>, (s, c)| match best {
            Some((bs, _)) if bs >= s => best,
            _ => Some((s, c)),
        })
        .map(|(_, c)| c.clone())
}

/// The destination's members object: the target of relation fields that is not a listed object and is named
/// after members or users.
fn members_object(objects: &[ObjectDef]) -> Option<String> {
    let listed: BTreeSet<&str> = objects.iter().map(|o| o.name.as_str()).collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in objects.iter().flat_map(|o| o.fields.iter()) {
        if let (FieldKind::Relation, Some(t)) = (f.kind, f.target.as_deref())
            && !listed.contains(t)
            && words(t).iter().any(|w| w == "member" || w == "user" || w == "members" || w == "users")
        {
            *counts.entry(t).or_default() += 1;
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(t, _)| t.to_string())
}

/// Matches a source object to a destination object, with why.
fn match_object(so: &ObjectDef, dest: &[ObjectDef]) -> Option<(String, String)> {
    let whole = singular(&norm(&so.name));
    let try_name = |s: &str| -> Option<(String, String)> {
        if let Some(d) = dest.iter().find(|d| norm(&d.name) == s || singular(&norm(&d.label)) == s) {
            return Some((d.name.clone(), "same name".to_string()));
        }
        let c = concept(s)?;
        let d = dest.iter().find(|d| concept(&singular(&norm(&d.name))) == Some(c))?;
        Some((d.name.clone(), format!("CRM vocabulary: {s} ≈ {}", d.name)))
    };
    if let Some((d, why)) = try_name(&whole) {
        let why = if why == "same name" && norm(&so.name) != norm(&d) {
            format!("same name: {} is the plural of {d}", so.name)
        } else {
            why
        };
        return Some((d, why));
    }
    let w = words(&so.name);
    if w.len() > 1 {
        let last = singular(w.last().map(String::as_str).unwrap_or_default());
        if let Some((d, why)) = try_name(&last) {
            return Some((d.clone(), format!("the last word of {} names {d} ({why})", so.name)));
        }
    }
    let mut best: Option<(f64, &ObjectDef)> = None;
    for d in dest {
        let s =
            strsim::jaro_winkler(&whole, &norm(&d.name)).max(strsim::jaro_winkler(&whole, &singular(&norm(&d.label))));
        if s >= SIMILAR && best.is_none_or(|(b, _)| s > b) {
            best = Some((s, d));
        }
    }
    best.map(|(s, d)| (d.name.clone(), format!("name similarity {s:.2}")))
}

fn is_upper_snake(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_uppercase())
        && v.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The value of a new option: when `upper`, UPPER_SNAKE_CASE of the source value (of the label when the value has
/// no letter, such as an id), else the source value as it is.
fn option_value(label: &str, value: &str, upper: bool) -> String {
    if !upper {
        return value.to_string();
    }
    let snake = |from: &str| {
        let mut out = String::new();
        for c in from.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_uppercase());
            } else if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        }
        while out.ends_with('_') {
            out.pop();
        }
        out
    };
    let from_value = value.chars().any(|c| c.is_ascii_alphabetic()) || label.trim().is_empty();
    let mut out = if from_value { snake(value) } else { snake(label) };
    if out.is_empty() {
        // a label without a Latin letter or digit (عميل مهم): the value (an id) still tells options apart
        out = snake(value);
    }
    if out.is_empty() {
        out.push_str("EMPTY");
    }
    if !out.starts_with(|c: char| c.is_ascii_uppercase()) {
        out.insert_str(0, "V_");
    }
    out.truncate(60);
    out
}

fn unique_value(value: String, taken: &[String]) -> String {
    if !taken.contains(&value) {
        return value;
    }
    (2..).map(|n| format!("{value}_{n}")).find(|v| !taken.contains(v)).unwrap_or(value)
}

/// Each user e-mail → the member with the same e-mail (case-insensitive), or none with why.
fn match_members(emails: &[String], members: &[Member]) -> Vec<MemberMatch> {
    let mut out: Vec<MemberMatch> = Vec::new();
    for email in emails.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        if out.iter().any(|m| m.source.eq_ignore_ascii_case(email)) {
            continue;
        }
        out.push(match members.iter().find(|m| m.email.trim().eq_ignore_ascii_case(email)) {
            Some(m) => MemberMatch {
                source: email.to_string(),
                destination: Some(m.email.clone()),
                reason: "same e-mail".into(),
            },
            None => MemberMatch {
                source: email.to_string(),
                destination: None,
                reason: "no destination member has this e-mail: invite the user there, or write here the e-mail of \
                         the member who takes over (apply refuses unmatched users unless --fallback-owner or \
                         --allow-unassigned)"
                    .into(),
            },
        });
    }
    out
}

/// Objects ordered so that every object comes after the objects it refers to (relations and links), keeping the
/// given order otherwise; a cycle keeps the given order for the objects in it.
fn order_parents_first(objects: Vec<ObjectPlan>, users: Option<&str>) -> Vec<ObjectPlan> {
    let names: Vec<String> = objects.iter().map(|o| o.source.clone()).collect();
    let deps: Vec<BTreeSet<usize>> = objects
        .iter()
        .map(|o| {
            o.relations
                .iter()
                .map(|r| r.target.as_str())
                .chain(o.links.iter().map(|l| l.target.as_str()))
                .filter(|t| Some(*t) != users && *t != o.source)
                .filter_map(|t| names.iter().position(|n| n == t))
                .collect()
        })
        .collect();
    let mut done = vec![false; objects.len()];
    let mut order = Vec::with_capacity(objects.len());
    while order.len() < objects.len() {
        let next = (0..objects.len())
            .find(|&i| !done[i] && deps[i].iter().all(|&d| done[d]))
            .or_else(|| (0..objects.len()).find(|&i| !done[i]))
            .expect("an object is left");
        done[next] = true;
        order.push(next);
    }
    let mut slots: Vec<Option<ObjectPlan>> = objects.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: FieldKind) -> FieldDef {
        FieldDef::new(name, sentence(&words(name)), kind)
    }

    fn rel(name: &str, target: &str) -> FieldDef {
        FieldDef { target: Some(target.into()), ..field(name, FieldKind::Relation) }
    }

    fn opts(pairs: &[(&str, &str)]) -> Vec<SelectOption> {
        pairs
            .iter()
            .enumerate()
            .map(|(i, (v, l))| SelectOption {
                value: v.to_string(),
                label: l.to_string(),
                color: None,
                position: i as u32,
            })
            .collect()
    }

    fn select(name: &str, kind: FieldKind, pairs: &[(&str, &str)]) -> FieldDef {
        FieldDef { options: opts(pairs), ..field(name, kind) }
    }

    fn object(name: &str, key: &str, fields: Vec<FieldDef>) -> ObjectDef {
        ObjectDef { name: name.into(), label: sentence(&words(name)), custom: false, key: key.into(), fields }
    }

    fn source() -> SourceModel {
        let required = |f: FieldDef| FieldDef { nullable: false, ..f };
        SourceModel {
            endpoint: Endpoint { kind: "sql".into(), location: "backup.sql".into() },
            objects: vec![
                object("users", "id", vec![field("id", FieldKind::Number), field("email", FieldKind::Emails)]),
                object("labels", "id", vec![field("id", FieldKind::Number), field("name", FieldKind::Text)]),
                object(
                    "companies",
                    "id",
                    vec![
                        field("id", FieldKind::Number),
                        field("name", FieldKind::Text),
                        field("website", FieldKind::Links),
                        field("size", FieldKind::Number),
                        select("sector", FieldKind::Select, &[("tech", "Technology"), ("energy", "Energy")]),
                        field("address", FieldKind::Text),
                        field("zipcode", FieldKind::Text),
                        field("city", FieldKind::Text),
                        field("state_abbr", FieldKind::Text),
                        field("revenue", FieldKind::Text),
                        field("created_at", FieldKind::DateTime),
                        rel("sales_id", "users"),
                        field("logo", FieldKind::Files),
                    ],
                ),
                object(
                    "contacts",
                    "id",
                    vec![
                        field("id", FieldKind::Number),
                        field("first_name", FieldKind::Text),
                        field("last_name", FieldKind::Text),
                        field("title", FieldKind::Text),
                        field("email_jsonb", FieldKind::Emails),
                        rel("company_id", "companies"),
                        select("tags", FieldKind::MultiSelect, &[("1", "football-fan"), ("2", "vip"), ("3", "vip")]),
                        FieldDef { custom: true, ..field("favourite_color", FieldKind::Text) },
                        rel("sales_id", "users"),
                    ],
                ),
                object(
                    "deals",
                    "id",
                    vec![
                        field("id", FieldKind::Number),
                        field("name", FieldKind::Text),
                        field("amount", FieldKind::Currency),
                        select("stage", FieldKind::Select, &[("opportunity", "Opportunity"), ("won", "Won")]),
                        FieldDef { target: Some("contacts".into()), ..field("contact_ids", FieldKind::Array) },
                        rel("company_id", "companies"),
                        field("expected_closing_date", FieldKind::Date),
                        rel("sales_id", "users"),
                    ],
                ),
                object(
                    "contact_notes",
                    "id",
                    vec![
                        field("id", FieldKind::Number),
                        required(rel("contact_id", "contacts")),
                        field("text", FieldKind::RichText),
                        field("date", FieldKind::DateTime),
                        select("status", FieldKind::Select, &[("cold", "Cold"), ("hot", "Hot")]),
                        field("attachments", FieldKind::Files),
                    ],
                ),
                object(
                    "deal_notes",
                    "id",
                    vec![
                        field("id", FieldKind::Number),
                        required(rel("deal_id", "deals")),
                        field("text", FieldKind::RichText),
                        field("date", FieldKind::DateTime),
                    ],
                ),
                object(
                    "tasks",
                    "id",
                    vec![
                        field("id", FieldKind::Number),
                        required(rel("contact_id", "contacts")),
                        select("type", FieldKind::Select, &[("call", "Call"), ("email", "Email")]),
                        field("text", FieldKind::Text),
                        field("due_date", FieldKind::DateTime),
                        field("done_date", FieldKind::DateTime),
                        rel("sales_id", "users"),
                    ],
                ),
                object(
                    "projects",
                    "id",
                    vec![
                        field("id", FieldKind::Number),
                        field("title", FieldKind::Text),
                        rel("company_id", "companies"),
                    ],
                ),
            ],
            users: Some(UsersPlan { object: "users".into(), email: "email".into() }),
            user_emails: vec!["Ada@Example.com".into(), "bob@example.com".into()],
            currency: Some("EUR".into()),
            not_migrated: vec![NotMigrated {
                kind: "object".into(),
                name: "labels".into(),
                what: "3 labels".into(),
                why: "they are the options of contacts.tags".into(),
            }],
            notes: vec![],
        }
    }

    fn destination() -> DestinationModel {
        let ids = || vec![field("id", FieldKind::Uuid), field("createdAt", FieldKind::DateTime)];
        let with = |mut base: Vec<FieldDef>, more: Vec<FieldDef>| {
            base.extend(more);
            base
        };
        DestinationModel {
            endpoint: Endpoint { kind: "crm".into(), location: "http://127.0.0.1:3000".into() },
            objects: vec![
                object(
                    "company",
                    "id",
                    with(
                        ids(),
                        vec![
                            field("name", FieldKind::Text),
                            field("domainName", FieldKind::Links),
                            field("linkedinLink", FieldKind::Links),
                            field("employees", FieldKind::Number),
                            field("address", FieldKind::Address),
                            field("annualRecurringRevenue", FieldKind::Currency),
                            rel("accountOwnerId", "workMember"),
                        ],
                    ),
                ),
                object(
                    "person",
                    "id",
                    with(
                        ids(),
                        vec![
                            field("name", FieldKind::FullName),
                            FieldDef { unique: true, ..field("emails", FieldKind::Emails) },
                            field("jobTitle", FieldKind::Text),
                            field("city", FieldKind::Text),
                            rel("companyId", "company"),
                        ],
                    ),
                ),
                object(
                    "opportunity",
                    "id",
                    with(
                        ids(),
                        vec![
                            field("name", FieldKind::Text),
                            field("amount", FieldKind::Currency),
                            select(
                                "stage",
                                FieldKind::Select,
                                &[("NEW", "New"), ("OPPORTUNITY", "Opportunity"), ("CUSTOMER", "Customer")],
                            ),
                            field("closeDate", FieldKind::DateTime),
                            rel("companyId", "company"),
                            rel("pointOfContactId", "person"),
                            rel("ownerId", "workMember"),
                        ],
                    ),
                ),
                object(
                    "note",
                    "id",
                    with(ids(), vec![field("title", FieldKind::Text), field("bodyV2", FieldKind::RichText)]),
                ),
                object(
                    "task",
                    "id",
                    with(
                        ids(),
                        vec![
                            field("title", FieldKind::Text),
                            field("bodyV2", FieldKind::RichText),
                            field("dueAt", FieldKind::DateTime),
                            select(
                                "status",
                                FieldKind::Select,
                                &[("TODO", "To do"), ("IN_PROGRESS", "In progress"), ("DONE", "Done")],
                            ),
                            rel("assigneeId", "workMember"),
                        ],
                    ),
                ),
                object(
                    "noteTarget",
                    "id",
                    vec![
                        field("id", FieldKind::Uuid),
                        rel("noteId", "note"),
                        rel("personId", "person"),
                        rel("companyId", "company"),
                        rel("opportunityId", "opportunity"),
                    ],
                ),
                object(
                    "taskTarget",
                    "id",
                    vec![
                        field("id", FieldKind::Uuid),
                        rel("taskId", "task"),
                        rel("personId", "person"),
                        rel("companyId", "company"),
                        rel("opportunityId", "opportunity"),
                    ],
                ),
            ],
            members: vec![Member { id: "m1".into(), email: "ada@example.com".into(), name: "Ada".into() }],
        }
    }

    fn plan() -> Plan {
        propose(&source(), &destination(), "m.journal".into())
    }

    fn obj<'p>(plan: &'p Plan, source: &str) -> &'p ObjectPlan {
        plan.objects.iter().find(|o| o.source == source).unwrap_or_else(|| panic!("{source} is planned: {plan:#?}"))
    }

    fn fp<'p>(o: &'p ObjectPlan, dest: &str) -> &'p FieldPlan {
        o.fields.iter().find(|f| f.destination == dest).unwrap_or_else(|| panic!("{dest} is filled in {o:#?}"))
    }

    #[test]
    fn names_split_and_inflect() {
        assert_eq!(words("linkedin_url"), vec!["linkedin", "url"]);
        assert_eq!(words("bodyV2"), vec!["body", "v2"]);
        assert_eq!(words("pointOfContactId"), vec!["point", "of", "contact", "id"]);
        assert_eq!(singular("companies"), "company");
        assert_eq!(singular("people"), "person");
        assert_eq!(singular("status"), "status");
        assert_eq!(plural("company"), "companies");
        assert_eq!(plural("person"), "people");
        assert_eq!(plural("opportunityContact"), "opportunityContacts");
        assert_eq!(reference_stem("contact_ids"), vec!["contact"]);
        assert_eq!(option_value("In negociation", "in-negociation", true), "IN_NEGOCIATION");
        assert_eq!(option_value("", "1", true), "V_1");
        assert_eq!(option_value("football-fan", "7", true), "FOOTBALL_FAN", "ids take their label");
        assert_eq!(option_value("عميل مهم", "8", true), "V_8", "a label with no Latin letter keeps the id");
    }

    #[test]
    fn objects_match_by_name_vocabulary_and_last_word() {
        let plan = plan();
        let dest: BTreeMap<&str, &str> =
            plan.objects.iter().map(|o| (o.source.as_str(), o.destination.as_str())).collect();
        assert_eq!(dest["companies"], "company");
        assert_eq!(dest["contacts"], "person");
        assert_eq!(dest["deals"], "opportunity");
        assert_eq!(dest["contact_notes"], "note");
        assert_eq!(dest["deal_notes"], "note");
        assert_eq!(dest["tasks"], "task");
        assert_eq!(dest["projects"], "project", "an unmatched object becomes a custom object");
        assert!(obj(&plan, "contacts").reason.contains("vocabulary"), "{}", obj(&plan, "contacts").reason);
        assert!(!dest.contains_key("users"), "the users object is not loaded");
        assert!(!dest.contains_key("labels"), "objects listed as not migrating are not loaded");
        assert!(plan.not_migrated.iter().any(|n| n.name == "users"));
        assert!(plan.create.objects.iter().any(|o| o.name == "project" && o.plural == "projects"));
        let title = plan.create.fields.iter().find(|f| f.object == "project" && f.name == "title");
        assert!(title.is_some_and(|f| f.kind == FieldKind::Text), "{:#?}", plan.create.fields);
        let projects = obj(&plan, "projects");
        assert_eq!(projects.relations[0].destination, "companyId");
        let rel = plan.create.fields.iter().find(|f| f.object == "project" && f.name == "company").unwrap();
        assert_eq!(rel.target.as_deref(), Some("company"));
    }

    #[test]
    fn objects_come_parents_first() {
        let plan = plan();
        let pos = |s: &str| plan.objects.iter().position(|o| o.source == s).unwrap();
        assert!(pos("companies") < pos("contacts"));
        assert!(pos("contacts") < pos("deals"));
        assert!(pos("deals") < pos("deal_notes"));
        assert!(pos("contacts") < pos("tasks"));
        assert!(pos("companies") < pos("projects"));
        let text = plan.to_toml();
        Plan::parse(&text, std::path::Path::new("m.toml")).expect("the proposed plan is valid");
    }

    #[test]
    fn fields_match_by_name_synonym_type_and_composites() {
        let plan = plan();
        let companies = obj(&plan, "companies");
        assert_eq!(fp(companies, "name").transform, Transform::Text);
        assert_eq!(fp(companies, "domainName").source, vec!["website"]);
        assert_eq!(fp(companies, "employees").source, vec!["size"]);
        assert_eq!(fp(companies, "createdAt").source, vec!["created_at"]);
        let address = fp(companies, "address");
        assert_eq!(address.source, vec!["address", "city", "state_abbr", "zipcode"]);
        assert_eq!(
            address.transform,
            Transform::AddressParts { parts: vec!["street1".into(), "city".into(), "state".into(), "postcode".into()] }
        );
        assert_eq!(fp(companies, "revenue").transform, Transform::Text, "free text is not a currency");
        assert!(plan.create.fields.iter().any(|f| f.object == "company" && f.name == "revenue"));
        assert_eq!(companies.attachments[0].source, "logo");

        let contacts = obj(&plan, "contacts");
        let name = fp(contacts, "name");
        assert_eq!(
            (name.source.clone(), name.transform.clone()),
            (vec!["first_name".into(), "last_name".into()], Transform::FullName)
        );
        assert_eq!(fp(contacts, "jobTitle").source, vec!["title"]);
        let emails = fp(contacts, "emails");
        assert_eq!(emails.transform, Transform::Emails);
        assert!(emails.reason.contains("type compatibility"), "{}", emails.reason);
        assert!(plan.lossy.iter().any(|l| l.object == "contacts" && l.field == "email_jsonb"));
        assert!(
            plan.lossy.iter().any(|l| l.field == "email_jsonb" && l.what.contains("takes a value once")),
            "a unique destination field fed by a field that may repeat is named: {:?}",
            plan.lossy
        );
        assert_eq!(contacts.relations.iter().find(|r| r.source == "company_id").unwrap().destination, "companyId");
        let custom = plan.create.fields.iter().find(|f| f.name == "favouriteColor").expect("custom column kept");
        assert!(custom.reason.contains("custom column"), "{}", custom.reason);
        assert!(contacts.fields.iter().all(|f| !f.reason.is_empty()));
    }

    #[test]
    fn selects_map_every_option_and_add_the_missing_ones() {
        let plan = plan();
        let deals = obj(&plan, "deals");
        let Transform::Select { values } = &fp(deals, "stage").transform else { panic!("stage is a select") };
        assert_eq!(values["opportunity"], "OPPORTUNITY", "an existing option is reused");
        assert_eq!(values["won"], "WON");
        let added = plan.create.options.iter().find(|o| o.object == "opportunity" && o.field == "stage").unwrap();
        assert_eq!(added.options.iter().map(|o| o.value.as_str()).collect::<Vec<_>>(), vec!["WON"]);
        assert_eq!(added.options[0].position, 3);

        let sector = plan.create.fields.iter().find(|f| f.object == "company" && f.name == "sector").unwrap();
        assert_eq!(sector.kind, FieldKind::Select);
        assert_eq!(sector.options.iter().map(|o| o.value.as_str()).collect::<Vec<_>>(), vec!["TECH", "ENERGY"]);

        let tags = plan.create.fields.iter().find(|f| f.object == "person" && f.name == "tags").unwrap();
        assert_eq!(tags.kind, FieldKind::MultiSelect);
        let values: Vec<&str> = tags.options.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values, vec!["FOOTBALL_FAN", "VIP"], "tags sharing a name are one option");
        let Transform::MultiSelect { values } = &fp(obj(&plan, "contacts"), "tags").transform else { panic!() };
        assert_eq!(values["1"], "FOOTBALL_FAN");
        assert_eq!(values["2"], "VIP");
        assert_eq!(values["3"], "VIP");
    }

    #[test]
    fn amounts_are_currency_in_the_sources_currency_and_say_so() {
        let plan = plan();
        assert_eq!(fp(obj(&plan, "deals"), "amount").transform, Transform::Currency { currency: "EUR".into() });
        assert!(plan.lossy.iter().any(|l| l.field == "amount" && l.what.contains("EUR")));
        let mut src = source();
        src.currency = None;
        let plan = propose(&src, &destination(), "m.journal".into());
        assert_eq!(fp(obj(&plan, "deals"), "amount").transform, Transform::Currency { currency: "USD".into() });
        assert!(plan.lossy.iter().any(|l| l.field == "amount" && l.what.contains("default")));
    }

    #[test]
    fn an_array_of_keys_fills_the_relation_and_links_every_key() {
        let plan = plan();
        let deals = obj(&plan, "deals");
        let poc = deals.relations.iter().find(|r| r.source == "contact_ids").expect("contact_ids → relation");
        assert_eq!(poc.destination, "pointOfContactId");
        assert_eq!(poc.target, "contacts");
        let link = deals.links.iter().find(|l| l.source == "contact_ids").expect("contact_ids → links");
        assert_eq!(link.destination, "opportunityContact");
        assert_eq!((link.parent.as_str(), link.field.as_str()), ("opportunityId", "personId"));
        assert!(plan.create.objects.iter().any(|o| o.name == "opportunityContact"));
        let fields: Vec<(&str, Option<&str>)> = plan
            .create
            .fields
            .iter()
            .filter(|f| f.object == "opportunityContact")
            .map(|f| (f.name.as_str(), f.target.as_deref()))
            .collect();
        assert_eq!(fields, vec![("opportunity", Some("opportunity")), ("person", Some("person"))]);
        assert!(plan.lossy.iter().any(|l| l.object == "deals" && l.field == "contact_ids" && l.what.contains("first")));
        assert_eq!(fp(deals, "closeDate").transform, Transform::DateTime);
    }

    #[test]
    fn required_parents_without_a_relation_link_through_join_objects() {
        let plan = plan();
        let notes = obj(&plan, "contact_notes");
        assert!(notes.relations.is_empty(), "{:#?}", notes.relations);
        let l = &notes.links[0];
        assert_eq!((l.destination.as_str(), l.parent.as_str(), l.field.as_str()), ("noteTarget", "noteId", "personId"));
        let l = &obj(&plan, "deal_notes").links[0];
        assert_eq!(
            (l.destination.as_str(), l.field.as_str(), l.target.as_str()),
            ("noteTarget", "opportunityId", "deals")
        );
        let l = &obj(&plan, "tasks").links[0];
        assert_eq!((l.destination.as_str(), l.parent.as_str(), l.field.as_str()), ("taskTarget", "taskId", "personId"));
        assert_eq!(notes.attachments[0].source, "attachments");
    }

    #[test]
    fn notes_and_tasks_get_a_body_a_title_a_date_and_a_status() {
        let plan = plan();
        let notes = obj(&plan, "contact_notes");
        assert_eq!(fp(notes, "bodyV2").transform, Transform::RichText);
        assert_eq!(fp(notes, "title").transform, Transform::FirstLine);
        assert_eq!(fp(notes, "createdAt").source, vec!["date"]);
        let status = plan.create.fields.iter().find(|f| f.object == "note" && f.name == "status").unwrap();
        assert_eq!(status.options.len(), 2);
        let tasks = obj(&plan, "tasks");
        assert_eq!(fp(tasks, "bodyV2").source, vec!["text"]);
        assert_eq!(fp(tasks, "title").source, vec!["text"]);
        assert_eq!(fp(tasks, "dueAt").source, vec!["due_date"]);
        assert_eq!(
            fp(tasks, "status").transform,
            Transform::Presence { present: "DONE".into(), absent: "TODO".into() }
        );
        assert_eq!(fp(tasks, "doneDate").source, vec!["done_date"], "the completion date is kept too");
        assert!(
            plan.create.fields.iter().any(|f| f.object == "task" && f.name == "type" && f.kind == FieldKind::Select)
        );
    }

    #[test]
    fn user_relations_go_to_member_fields_or_a_new_owner() {
        let plan = plan();
        let r = |s: &str| obj(&plan, s).relations.iter().find(|r| r.source == "sales_id").cloned().unwrap();
        assert_eq!(r("companies").destination, "accountOwnerId");
        assert_eq!(r("deals").destination, "ownerId");
        assert_eq!(r("tasks").destination, "assigneeId");
        assert_eq!(r("companies").target, "users");
        assert_eq!(r("contacts").destination, "ownerId");
        let owner = plan.create.fields.iter().find(|f| f.object == "person" && f.name == "owner").unwrap();
        assert_eq!(owner.target.as_deref(), Some("workMember"));
    }

    #[test]
    fn members_match_by_email_ignoring_case_and_the_rest_is_listed() {
        let plan = plan();
        assert_eq!(plan.members.len(), 2);
        assert_eq!(plan.members[0].destination.as_deref(), Some("ada@example.com"));
        assert_eq!(plan.members[1].source, "bob@example.com");
        assert_eq!(plan.members[1].destination, None);
        assert!(plan.members[1].reason.contains("--fallback-owner"));
    }

    #[test]
    fn no_source_field_is_silently_dropped() {
        let src = source();
        let plan = plan();
        for so in src.objects.iter().filter(|o| plan.objects.iter().any(|p| p.source == o.name)) {
            let op = obj(&plan, &so.name);
            for f in so.fields.iter().filter(|f| f.name != so.key) {
                let used = op.fields.iter().any(|x| x.source.contains(&f.name))
                    || op.relations.iter().any(|x| x.source == f.name)
                    || op.links.iter().any(|x| x.source == f.name)
                    || op.attachments.iter().any(|x| x.source == f.name)
                    || plan.lossy.iter().any(|x| x.object == so.name && x.field == f.name);
                assert!(used, "{}.{} is carried or named", so.name, f.name);
            }
        }
    }

    #[test]
    fn re_proposing_over_an_edited_plan_keeps_the_edits() {
        let mut edited = plan();
        let deals = edited.objects.iter_mut().find(|o| o.source == "deals").unwrap();
        deals.fields.retain(|f| f.destination != "amount");
        deals.fields.push(FieldPlan {
            destination: "amount".into(),
            source: vec!["amount".into()],
            transform: Transform::Currency { currency: "GBP".into() },
            reason: "decided by Ada".into(),
        });
        edited.members[1].destination = Some("ada@example.com".into());
        let (merged, notes) = edited.merge_edits(plan());
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(fp(obj(&merged, "deals"), "amount").transform, Transform::Currency { currency: "GBP".into() });
        assert_eq!(merged.members[1].destination.as_deref(), Some("ada@example.com"));
    }
}
