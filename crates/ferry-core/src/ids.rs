//! Destination ids decided before anything is sent.
//!
//! Every record a migration writes gets an id derived from the migration's own id, the source object and the
//! source key. Sending the same record twice — after a crash, or after a write whose answer was lost — therefore
//! names the same destination record, which a destination that keeps client-supplied ids turns into "already
//! there" instead of a duplicate.

use uuid::Uuid;

/// The id the record `(object, key)` of migration `migration` gets in the destination.
///
/// Deterministic (a UUID v5 under the migration's id), distinct for distinct `(object, key)` pairs and for
/// distinct migrations.
pub fn destination_id(migration: Uuid, object: &str, key: &str) -> Uuid {
    let mut name = Vec::with_capacity(object.len() + key.len() + 1);
    name.extend_from_slice(object.as_bytes());
    name.push(0);
    name.extend_from_slice(key.as_bytes());
    Uuid::new_v5(&migration, &name)
}

/// A 128-bit fingerprint of `parts` (two SipHash-1-3 runs, fixed keys, distinct prefixes); collisions among a
/// migration's keys are beyond reach (about 2⁻⁸⁸ for a billion keys).
pub(crate) fn fingerprint(parts: &[&str]) -> u128 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        parts.hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Uuid = Uuid::from_u128(0x0c0f_fee0_1e9a_4c00_8000_0000_0000_0001);

    #[test]
    fn same_inputs_give_the_same_id() {
        assert_eq!(destination_id(M, "companies", "42"), destination_id(M, "companies", "42"));
    }

    #[test]
    fn object_key_and_migration_all_matter() {
        let base = destination_id(M, "companies", "42");
        assert_ne!(base, destination_id(M, "contacts", "42"));
        assert_ne!(base, destination_id(M, "companies", "43"));
        assert_ne!(base, destination_id(Uuid::from_u128(7), "companies", "42"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(destination_id(M, "ab", "c"), destination_id(M, "a", "bc"));
    }

    #[test]
    fn ids_are_version_5() {
        assert_eq!(destination_id(M, "notes", "1").get_version_num(), 5);
    }
}
