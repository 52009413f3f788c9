//! heed (LMDB) vs rusqlite (SQLite, WAL) vs file-per-key for small records: put, get-hit,
//! get-miss latency in one process, and entries/s with 8 writer processes.
use std::time::Instant;

const N: usize = 10_000;

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() - 1) as f64 * p) as usize]
}

enum Store {
    Lmdb(heed::Env, heed::Database<heed::types::Bytes, heed::types::Bytes>),
    Sqlite(rusqlite::Connection),
    Files(std::path::PathBuf),
}

fn open(kind: &str, dir: &std::path::Path) -> Store {
    match kind {
        "lmdb" => {
            std::fs::create_dir_all(dir).unwrap();
            let env = unsafe {
                heed::EnvOpenOptions::new()
                    .map_size(1 << 34)
                    .max_readers(512)
                    .flags(heed::EnvFlags::NO_SYNC | heed::EnvFlags::NO_READ_AHEAD | heed::EnvFlags::NO_META_SYNC)
                    .open(dir)
                    .unwrap()
            };
            let mut w = env.write_txn().unwrap();
            let db = env.create_database(&mut w, None).unwrap();
            w.commit().unwrap();
            Store::Lmdb(env, db)
        }
        "sqlite" => {
            std::fs::create_dir_all(dir).unwrap();
            let c = rusqlite::Connection::open(dir.join("db.sqlite")).unwrap();
            c.busy_timeout(std::time::Duration::from_secs(60)).unwrap();
            c.pragma_update(None, "journal_mode", "wal").unwrap();
            c.pragma_update(None, "synchronous", "normal").unwrap();
            c.execute_batch("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID").unwrap();
            Store::Sqlite(c)
        }
        _ => {
            for i in 0..256 { std::fs::create_dir_all(dir.join(format!("{i:02x}"))).unwrap(); }
            Store::Files(dir.to_path_buf())
        }
    }
}

impl Store {
    fn put(&self, k: &[u8], v: &[u8]) {
        match self {
            Store::Lmdb(env, db) => {
                let mut w = env.write_txn().unwrap();
                db.put(&mut w, k, v).unwrap();
                w.commit().unwrap();
            }
            Store::Sqlite(c) => {
                c.prepare_cached("INSERT OR REPLACE INTO kv VALUES (?1, ?2)").unwrap().execute((k, v)).unwrap();
            }
            Store::Files(d) => {
                let name = d.join(format!("{:02x}/{}", k[0], hex(k)));
                let tmp = d.join(format!("{:02x}/.{}.tmp", k[0], hex(k)));
                std::fs::write(&tmp, v).unwrap();
                std::fs::rename(&tmp, &name).unwrap();
            }
        }
    }
    fn get(&self, k: &[u8]) -> Option<usize> {
        match self {
            Store::Lmdb(env, db) => {
                let r = env.read_txn().unwrap();
                db.get(&r, k).unwrap().map(|v| std::hint::black_box(v).len())
            }
            Store::Sqlite(c) => {
                let mut s = c.prepare_cached("SELECT v FROM kv WHERE k = ?1").unwrap();
                let mut rows = s.query([k]).unwrap();
                rows.next().unwrap().map(|r| r.get_ref(0).unwrap().as_blob().unwrap().len())
            }
            Store::Files(d) => std::fs::read(d.join(format!("{:02x}/{}", k[0], hex(k)))).ok().map(|v| v.len()),
        }
    }
}

fn hex(k: &[u8]) -> String { k.iter().map(|b| format!("{b:02x}")).collect() }
fn key(p: u64, i: u64) -> [u8; 8] { (p.wrapping_mul(0x9e3779b97f4a7c15) ^ i.wrapping_mul(0xbf58476d1ce4e5b9)).to_be_bytes() }

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = args[1].as_str();
    let dir = std::path::PathBuf::from(&args[2]);
    let size: usize = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(1024);
    if args.get(4).map(|s| s.as_str()) == Some("writer") {
        let p: u64 = args[5].parse().unwrap();
        let s = open(kind, &dir);
        let v = vec![7u8; size];
        let mut lat = Vec::new();
        for i in 0..1000 { let t = Instant::now(); s.put(&key(p + 1, i), &v); lat.push(t.elapsed().as_secs_f64() * 1e6); }
        println!("{}", pct(lat, 0.99));
        return;
    }
    let s = open(kind, &dir);
    let v = vec![7u8; size];
    let mut put = Vec::new();
    for i in 0..N as u64 { let t = Instant::now(); s.put(&key(0, i), &v); put.push(t.elapsed().as_secs_f64() * 1e6); }
    let mut hit = Vec::new();
    for i in 0..N as u64 { let t = Instant::now(); assert!(s.get(&key(0, i)).is_some()); hit.push(t.elapsed().as_secs_f64() * 1e6); }
    let mut miss = Vec::new();
    for i in 0..N as u64 { let t = Instant::now(); assert!(s.get(&key(99, i)).is_none()); miss.push(t.elapsed().as_secs_f64() * 1e6); }
    drop(s);
    // 8 writer processes, 1000 puts each.
    let t = Instant::now();
    let kids: Vec<_> = (0..8).map(|p| std::process::Command::new(&args[0]).args([kind, &args[2], &size.to_string(), "writer", &p.to_string()]).stdout(std::process::Stdio::piped()).spawn().unwrap()).collect();
    let p99s: Vec<f64> = kids.into_iter().map(|k| String::from_utf8(k.wait_with_output().unwrap().stdout).unwrap().trim().parse().unwrap()).collect();
    let el = t.elapsed().as_secs_f64();
    let s = open(kind, &dir);
    let present = (0..8u64).flat_map(|p| (0..1000).map(move |i| key(p + 1, i))).filter(|k| s.get(k).is_some()).count();
    println!("{kind:6} {size:6}B put p50 {:6.1} p99 {:7.1} | hit p50 {:5.1} | miss p50 {:5.1} | 8 writers {:7.0}/s present {present} worst p99 {:7.1} us",
        pct(put.clone(), 0.5), pct(put, 0.99), pct(hit, 0.5), pct(miss, 0.5), 8000.0 / el, p99s.iter().cloned().fold(0.0, f64::max));
}
