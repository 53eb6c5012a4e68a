//! The first databases of a process opened from several threads at once.
//!
//! SQLite marks itself initialised before SQLCipher's own initialisation has finished, so a
//! second thread could open a database in that window and fail with "PRAGMA key requires a
//! key…" (seen in CI). This binary holds only this test, so the race is at a fresh process start.

use std::sync::{Arc, Barrier};

use kitakontor_store::key::DbKey;
use kitakontor_store::Store;

#[test]
fn eight_stores_created_at_the_same_moment_all_open() {
    const THREADS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let (start, path) = (start.clone(), dir.path().join(format!("s{i}.db")));
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                start.wait();
                rt.block_on(async {
                    let store = Store::create(&path, &DbKey::generate()).await.map_err(|e| format!("store {i}: {e}"))?;
                    store.close().await;
                    Ok::<_, String>(())
                })
            })
        })
        .collect();
    let failures: Vec<String> = handles.into_iter().filter_map(|h| h.join().unwrap().err()).collect();
    assert!(failures.is_empty(), "{failures:?}");
}
