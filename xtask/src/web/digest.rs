//! The two digests Trunk puts in a page: the cache-busting hash in file names (SeaHash, hex)
//! and the subresource integrity of what the page loads (SHA-384, base64).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha384};

/// `bytes`' hash as Trunk writes it in file names: `style-95678fe45accca3d.css`.
pub fn name_hash(bytes: &[u8]) -> String {
    format!("{:x}", seahash::hash(bytes))
}

/// The value of an `integrity` attribute for `bytes`.
pub fn integrity(bytes: &[u8]) -> String {
    format!("sha384-{}", STANDARD.encode(Sha384::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_as_trunk_writes_them() {
        // SHA-384 of "abc", from FIPS 180-2, in base64.
        assert_eq!(
            integrity(b"abc"),
            "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn"
        );
        assert_eq!(name_hash(b"abc").len(), 16);
        assert_ne!(name_hash(b"abc"), name_hash(b"abd"));
    }
}
