//! Hashing the bytes of a transfer as they stream (SHA-256, SHA-1, MD5 via
//! OpenSSL; CRC32 here), or a whole local file afterwards.

use std::io::Read;

use openssl::hash::{Hasher as SslHasher, MessageDigest};

use crate::proto::feat::HashAlgorithm;

use super::cancel::Cancel;
use super::error::{Error, Result};

pub enum Hasher {
    Ssl(SslHasher),
    Crc32(u32),
}

impl Hasher {
    pub fn new(algorithm: HashAlgorithm) -> Self {
        let md = match algorithm {
            HashAlgorithm::Sha256 => MessageDigest::sha256(),
            HashAlgorithm::Sha1 => MessageDigest::sha1(),
            HashAlgorithm::Md5 => MessageDigest::md5(),
            HashAlgorithm::Crc32 => return Hasher::Crc32(0),
        };
        Hasher::Ssl(SslHasher::new(md).expect("OpenSSL digests are always available"))
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Ssl(h) => h.update(data).expect("digest update cannot fail"),
            Hasher::Crc32(c) => *c = crc32(*c, data),
        }
    }

    pub fn hex(mut self) -> String {
        match &mut self {
            Hasher::Ssl(h) => {
                h.finish().expect("digest finish cannot fail").iter().map(|b| format!("{b:02x}")).collect()
            }
            Hasher::Crc32(c) => format!("{c:08x}"),
        }
    }
}

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC_TABLE: [u32; 256] = crc_table();

/// CRC-32 (IEEE, as zlib), continuing from `crc`.
pub fn crc32(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c = CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// Feeds the first `len` bytes of a file into `hasher`.
pub fn hash_prefix(file: &std::fs::File, len: u64, hasher: &mut Hasher, cancel: &Cancel) -> Result<()> {
    let mut f = file.try_clone().map_err(Error::Local)?;
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start(0)).map_err(Error::Local)?;
    let mut take = f.take(len);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        cancel.check()?;
        let n = take.read(&mut buf).map_err(Error::Local)?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let mut h = Hasher::new(HashAlgorithm::Sha256);
        h.update(b"abc");
        assert_eq!(h.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let mut h = Hasher::new(HashAlgorithm::Md5);
        h.update(b"");
        assert_eq!(h.hex(), "d41d8cd98f00b204e9800998ecf8427e");
        let mut h = Hasher::new(HashAlgorithm::Crc32);
        h.update(b"1234");
        h.update(b"56789");
        assert_eq!(h.hex(), "cbf43926");
    }
}
