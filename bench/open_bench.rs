use std::time::Instant;
use undersigned::sealed::{Personal, Purpose};
fn main() {
    let keys = undersigned::keys::Keys::derive(b"0123456789abcdef0123456789abcdef", String::new());
    let p = Personal {
        name: "Ольга Иванова 12345".into(),
        email: "signer12345@example.org".into(),
        postcode: None,
        comment: None,
    };
    let s = keys.seal(Purpose::Signature, &p);
    let n = 200_000;
    let t = Instant::now();
    for _ in 0..n {
        let _: Personal = keys.open(Purpose::Signature, &s).unwrap();
    }
    println!("open: {:.2} µs", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let t = Instant::now();
    for _ in 0..n {
        let _ = std::hint::black_box(keys.seal(Purpose::Signature, &p));
    }
    println!("seal: {:.2} µs", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    use base64::Engine;
    let body = s.strip_prefix("1.").unwrap();
    let t = Instant::now();
    for _ in 0..n {
        let _ = std::hint::black_box(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(body)
                .unwrap(),
        );
    }
    println!(
        "base64: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let j = serde_json::to_vec(&p).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        let _: Personal = std::hint::black_box(serde_json::from_slice(&j).unwrap());
    }
    println!("json: {:.2} µs", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    use aes_gcm_siv::aead::{Aead, KeyInit};
    let t = Instant::now();
    for _ in 0..n {
        let _ = std::hint::black_box(aes_gcm_siv::Aes256GcmSiv::new(&[7u8; 32].into()));
    }
    println!(
        "aes-gcm-siv new: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let c = aes_gcm_siv::Aes256GcmSiv::new(&[7u8; 32].into());
    let nonce = aes_gcm_siv::Nonce::from([1u8; 12]);
    let ct = c.encrypt(&nonce, &[0u8; 96][..]).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        let _ = std::hint::black_box(c.decrypt(&nonce, &ct[..]).unwrap());
    }
    println!(
        "aes-gcm-siv decrypt 96 B: {:.2} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = Instant::now();
    for _ in 0..n {
        let _ = std::hint::black_box(keys.data_key_id_bytes());
    }
    println!(
        "key id: {:.3} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
