//! What the app-layer tests share: the app on a fresh demo database, logging in, error codes.
#![allow(dead_code)]

use kitakontor_app::dto::{LoginInput, SessionInfo};
use kitakontor_app::{App, AppError};
use kitakontor_store::demo::DEMO_PASSWORD;
use kitakontor_store::key::DbKey;
use kitakontor_store::Store;
use std::time::Duration;

/// The app on a fresh demo database (seed 7), idle lock after 10 minutes.
pub async fn demo_app() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("demo.db"), &DbKey::generate()).await.unwrap();
    store.seed_demo(7).await.unwrap();
    (dir, App::new(store, true).with_idle(Duration::from_secs(600)))
}

pub async fn login(app: &App, user: &str) -> SessionInfo {
    app.login(LoginInput { username: user.into(), password: DEMO_PASSWORD.into() }).await.unwrap()
}

/// "ok" or the error's code.
pub fn code<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e.code,
    }
}
