//! The compressed kernel inside Debian's bzImage, located through the x86
//! boot protocol's setup header (`Documentation/arch/x86/boot.rst`): the
//! setup code takes `setup_sects + 1` sectors of 512 bytes, and
//! `payload_offset` and `payload_length` (protocol 2.08 and later) say where
//! the compressed `vmlinux` lies after it.

/// The compressed payload of a bzImage.
pub fn payload(image: &[u8]) -> Result<&[u8], String> {
    let u32_at = |at: usize| {
        image
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if image.get(0x202..0x206) != Some(b"HdrS") {
        return Err("not a bzImage (no `HdrS` setup header)".into());
    }
    let protocol = image
        .get(0x206..0x208)
        .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
    if protocol < 0x0208 {
        return Err(format!(
            "boot protocol {}.{:02} has no payload fields (2.08 and later do)",
            protocol >> 8,
            protocol & 0xff
        ));
    }
    // Zero means 4, for the oldest loaders.
    let sects = match image.get(0x1f1) {
        Some(0) | None => 4,
        Some(&n) => usize::from(n),
    };
    let (Some(offset), Some(length)) = (u32_at(0x248), u32_at(0x24c)) else {
        return Err("the setup header is truncated".into());
    };
    let start = (sects + 1) * 512 + offset as usize;
    image
        .get(start..start + length as usize)
        .ok_or_else(|| "the payload lies past the end of the file".into())
}

/// The compression of a payload, by its magic bytes.
pub fn compression(payload: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 3] = [
        (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], "xz"),
        (&[0x1f, 0x8b], "gzip"),
        (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
    ];
    MAGIC
        .iter()
        .find(|(m, _)| payload.starts_with(m))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic bzImage: `sects` setup sectors, a payload of `body` at
    /// `offset` past them.
    fn image(sects: u8, protocol: u16, offset: u32, body: &[u8]) -> Vec<u8> {
        let start = (usize::from(sects.max(1)) + 1) * 512;
        let mut b = vec![0u8; start + offset as usize];
        b[0x1f1] = sects;
        b[0x202..0x206].copy_from_slice(b"HdrS");
        b[0x206..0x208].copy_from_slice(&protocol.to_le_bytes());
        b[0x248..0x24c].copy_from_slice(&offset.to_le_bytes());
        b[0x24c..0x250].copy_from_slice(&(body.len() as u32).to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(b"trailer");
        b
    }

    #[test]
    fn finds_the_payload() {
        let xz = [0xfd, b'7', b'z', b'X', b'Z', 0x00, 1, 2, 3];
        let img = image(39, 0x020f, 716, &xz);
        assert_eq!(payload(&img).unwrap(), &xz);
        assert_eq!(compression(payload(&img).unwrap()), Some("xz"));
        assert_eq!(compression(&[0x1f, 0x8b, 8]), Some("gzip"));
        assert_eq!(compression(b"BZh9"), None);
    }

    #[test]
    fn refuses_what_is_not_a_bzimage() {
        assert_eq!(
            payload(b"\x7fELF").unwrap_err(),
            "not a bzImage (no `HdrS` setup header)"
        );
        let old = image(4, 0x0207, 0, b"x");
        assert_eq!(
            payload(&old).unwrap_err(),
            "boot protocol 2.07 has no payload fields (2.08 and later do)"
        );
        let mut cut = image(4, 0x020f, 0, b"xyz");
        cut.truncate(cut.len() - 9);
        assert_eq!(
            payload(&cut).unwrap_err(),
            "the payload lies past the end of the file"
        );
    }
}
