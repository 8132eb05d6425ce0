//! HTTP compression (README, "Compression"): request bodies sent with
//! `Content-Encoding: gzip` or `deflate` (CXF's GZIPFeature, WCF's
//! compression) are decoded with a bound on what they decode to, so that a
//! small body cannot expand into a large one; responses are gzipped when the
//! client accepts it and they are large enough to gain from it.

use std::io::Read;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, AcceptEncoding, ContentEncoding, Encoding, Header, HeaderValue,
};
use actix_web::middleware::Next;
use actix_web::web::BytesMut;
use flate2::Compression;
use flate2::read::{DeflateDecoder, GzDecoder, ZlibDecoder};
use flate2::write::GzEncoder;

use crate::soap::Fault;

/// How a request body is encoded.
enum BodyEncoding {
    Identity,
    Gzip,
    Deflate,
}

fn body_encoding(content_encoding: Option<&str>) -> Result<BodyEncoding, Fault> {
    match content_encoding
        .map(|e| e.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("" | "identity") => Ok(BodyEncoding::Identity),
        Some("gzip" | "x-gzip") => Ok(BodyEncoding::Gzip),
        Some("deflate") => Ok(BodyEncoding::Deflate),
        Some(other) => Err(Fault::client_with_status(
            format!("The Content-Encoding '{other}' is not supported; send gzip, deflate or none."),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )),
    }
}

/// The body as sent, decoded as its `Content-Encoding` says: at most
/// `limit` bytes once decoded (more is a Client fault with 413).
pub fn decode_body(
    content_encoding: Option<&str>,
    body: BytesMut,
    limit: usize,
) -> Result<Vec<u8>, Fault> {
    let reader: Box<dyn Read + '_> = match body_encoding(content_encoding)? {
        BodyEncoding::Identity => return Ok(body.to_vec()),
        BodyEncoding::Gzip => Box::new(GzDecoder::new(&body[..])),
        // HTTP's deflate is zlib-wrapped; some clients send it raw.
        BodyEncoding::Deflate if looks_like_zlib(&body) => Box::new(ZlibDecoder::new(&body[..])),
        BodyEncoding::Deflate => Box::new(DeflateDecoder::new(&body[..])),
    };
    let mut decoded = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut decoded)
        .map_err(|_| {
            Fault::client("The request body does not decode as its Content-Encoding says.")
        })?;
    if decoded.len() > limit {
        return Err(Fault::client_with_status(
            format!("The request body decodes to more than {limit} bytes."),
            StatusCode::PAYLOAD_TOO_LARGE,
        ));
    }
    Ok(decoded)
}

/// A zlib header: compression method 8 and a check that makes the first
/// two bytes a multiple of 31.
fn looks_like_zlib(body: &[u8]) -> bool {
    matches!(body, [cmf, flg, ..] if cmf & 0x0F == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0)
}

/// Gzips a response when the client accepts gzip and its body has at least
/// `min_bytes`; every other response goes out as it is.
pub async fn compress_responses(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    min_bytes: usize,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let wants_gzip = AcceptEncoding::parse(request.request()).is_ok_and(|accepted| {
        let supported = [Encoding::Known(ContentEncoding::Gzip), Encoding::identity()];
        accepted.negotiate(supported.iter()) == Some(Encoding::Known(ContentEncoding::Gzip))
    });
    let response = next.call(request).await?.map_into_boxed_body();
    if !wants_gzip || response.headers().contains_key(header::CONTENT_ENCODING) {
        return Ok(response);
    }
    let large_enough = matches!(
        response.response().body().size(),
        actix_web::body::BodySize::Sized(n) if n >= min_bytes as u64
    );
    if !large_enough {
        return Ok(response);
    }
    let (request, response) = response.into_parts();
    let (mut head, body) = response.into_parts();
    let bytes = match body.try_into_bytes() {
        Ok(bytes) => bytes,
        Err(body) => {
            return Ok(ServiceResponse::new(request, head.set_body(body)));
        }
    };
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::fast());
    std::io::Write::write_all(&mut encoder, &bytes)?;
    let gzipped = encoder.finish()?;
    let headers = head.headers_mut();
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.remove(header::CONTENT_LENGTH);
    Ok(ServiceResponse::new(
        request,
        head.set_body(BoxBody::new(gzipped)),
    ))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_and_both_kinds_of_deflate_decode() {
        let text = b"<Envelope/>".repeat(20);
        let body = |b: Vec<u8>| BytesMut::from(&b[..]);
        assert_eq!(
            decode_body(Some("gzip"), body(gzip(&text)), 1000).unwrap(),
            text
        );
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
        zlib.write_all(&text).unwrap();
        assert_eq!(
            decode_body(Some("deflate"), body(zlib.finish().unwrap()), 1000).unwrap(),
            text
        );
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
        raw.write_all(&text).unwrap();
        assert_eq!(
            decode_body(Some("Deflate"), body(raw.finish().unwrap()), 1000).unwrap(),
            text
        );
        assert_eq!(decode_body(None, body(text.clone()), 1000).unwrap(), text);
    }

    #[test]
    fn a_bomb_stops_at_the_limit_and_junk_is_refused() {
        let bomb = gzip(&vec![b' '; 10_000_000]);
        assert!(bomb.len() < 20_000);
        let refused = decode_body(Some("gzip"), BytesMut::from(&bomb[..]), 1 << 20);
        assert!(format!("{:?}", refused.unwrap_err()).contains("413"));
        let junk = decode_body(Some("gzip"), BytesMut::from(&b"not gzip"[..]), 100);
        assert!(format!("{:?}", junk.unwrap_err()).contains("does not decode"));
        let br = decode_body(Some("br"), BytesMut::new(), 100);
        assert!(format!("{:?}", br.unwrap_err()).contains("'br' is not supported"));
    }
}
