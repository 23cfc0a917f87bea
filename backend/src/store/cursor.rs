//! Where a reader of the claims' events is: the last entry id it has of each partition. Ids
//! order entries within one stream only, so with several partitions one id cannot say it.
//!
//! Written as the plain id with one partition (as it always was), and as
//! `<partition>:<id>,...` with several. Read leniently, for clients that keep less: a plain
//! id stands for every partition (entries after that time), and a partition left out starts
//! at the oldest id given.

use std::fmt;

use crate::store::entry_id::EntryId;
use crate::store::keys::{Partition, Partitions};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    partitions: Partitions,
    at: Vec<EntryId>,
}

impl Cursor {
    /// Every partition at the same id.
    pub fn all_at(partitions: Partitions, id: EntryId) -> Self {
        Self {
            partitions,
            at: vec![id; partitions.count() as usize],
        }
    }

    pub fn from_ids(partitions: Partitions, at: Vec<EntryId>) -> Self {
        assert_eq!(
            at.len(),
            partitions.count() as usize,
            "one id per partition"
        );
        Self { partitions, at }
    }

    pub fn parse(text: &str, partitions: Partitions) -> Result<Self, String> {
        if !text.contains(':') {
            return Ok(Self::all_at(partitions, text.parse()?));
        }
        let mut given: Vec<Option<EntryId>> = vec![None; partitions.count() as usize];
        for item in text.split(',') {
            let (partition, id) = partitions.parse_marker(item)?;
            given[partition.index() as usize] = Some(id.parse()?);
        }
        let oldest = given
            .iter()
            .flatten()
            .min()
            .copied()
            .unwrap_or(EntryId::ZERO);
        Ok(Self {
            partitions,
            at: given.into_iter().map(|id| id.unwrap_or(oldest)).collect(),
        })
    }

    pub fn at(&self, partition: Partition) -> EntryId {
        self.at[partition.index() as usize]
    }

    pub fn advance(&mut self, partition: Partition, id: EntryId) {
        let at = &mut self.at[partition.index() as usize];
        *at = (*at).max(id);
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = self.at.as_slice() {
            return write!(f, "{only}");
        }
        for (n, id) in self.at.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            write!(f, "{n}:{id}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> EntryId {
        s.parse().unwrap()
    }

    #[test]
    fn one_partition_reads_and_writes_a_plain_id() {
        let cursor = Cursor::parse("5-1", Partitions::ONE).unwrap();
        assert_eq!(cursor.to_string(), "5-1");
        assert_eq!(cursor.at(Partition::ONLY), id("5-1"));
    }

    #[test]
    fn several_partitions_round_trip_and_fill_in_what_is_left_out() {
        let three = Partitions::new(3).unwrap();
        let cursor = Cursor::parse("0:7-0,2:5-3", three).unwrap();
        assert_eq!(cursor.to_string(), "0:7-0,1:5-3,2:5-3");
        assert_eq!(Cursor::parse(&cursor.to_string(), three).unwrap(), cursor);
        assert_eq!(
            Cursor::parse("9-0", three).unwrap().to_string(),
            "0:9-0,1:9-0,2:9-0"
        );
        assert!(Cursor::parse("3:1-0", three).is_err());
        assert!(Cursor::parse("0:x", three).is_err());
    }

    #[test]
    fn a_cursor_only_moves_forward() {
        let two = Partitions::new(2).unwrap();
        let mut cursor = Cursor::all_at(two, id("5-0"));
        let second = two.all().nth(1).unwrap();
        cursor.advance(second, id("9-0"));
        cursor.advance(second, id("7-0"));
        assert_eq!(cursor.to_string(), "0:5-0,1:9-0");
    }
}
