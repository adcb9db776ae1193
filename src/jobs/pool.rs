//! A pool of logged-in sessions to one server, as rclone's FTP backend keeps:
//! a hard cap on how many exist at once, an idle timeout, a liveness check
//! (NOOP) before an idle session is handed out again, and no failure when
//! the server refuses one more login (421, or 530 while others are logged
//! in): the pool shrinks to what the server allows and callers wait for a
//! session instead.
//!
//! Generic over [`Connector`], so it is tested with a fake server and runs
//! with real sessions alike.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How sessions are made, checked and ended.
pub trait Connector: Send + Sync {
    type Session: Send;
    type Error: std::fmt::Display + Send;

    /// Opens a new logged-in session (blocking).
    fn open(&self) -> Result<Self::Session, Self::Error>;
    /// Whether `e` is the server refusing one more session (421 "too many
    /// connections", or 530 from servers that refuse extra logins that way),
    /// as opposed to a fault that also stops the first session.
    fn is_refusal(&self, e: &Self::Error) -> bool;
    /// Whether an idle session still works (NOOP).
    fn check(&self, s: &mut Self::Session) -> bool;
    /// Ends a session (QUIT), best effort.
    fn close(&self, s: Self::Session);
}

#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// The most sessions open at once.
    pub max: usize,
    /// Idle sessions older than this are closed instead of reused.
    pub idle_timeout: Duration,
    /// An idle session is checked with NOOP before reuse once it has been
    /// idle this long. A session handed back a moment ago is reused without
    /// the round trip; a dead one then fails its next command, and the job
    /// retries on another session.
    pub check_after: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config { max: 4, idle_timeout: Duration::from_secs(60), check_after: Duration::from_secs(1) }
    }
}

#[derive(Debug)]
pub enum PoolError<E> {
    /// No session could be opened (and none is open to wait for).
    Open(E),
    /// The pool's stop flag was raised (Ctrl-C, fail-fast).
    Stopped,
}

impl<E: std::fmt::Display> std::fmt::Display for PoolError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PoolError::Open(e) => e.fmt(f),
            PoolError::Stopped => f.write_str("stopped"),
        }
    }
}

struct State<S> {
    idle: Vec<(S, Instant)>,
    leased: usize,
    opening: usize,
    cap: usize,
    refusals: usize,
}

impl<S> State<S> {
    fn live(&self) -> usize {
        self.idle.len() + self.leased + self.opening
    }
}

/// How long a waiting caller sleeps before it looks at the stop flag again.
const WAIT_SLICE: Duration = Duration::from_millis(50);

pub struct Pool<C: Connector> {
    connector: C,
    config: Config,
    state: Mutex<State<C::Session>>,
    returned: Condvar,
    stop: Arc<AtomicBool>,
}

enum Step<S> {
    Reuse(S, Instant),
    Open,
    Wait,
}

impl<C: Connector> Pool<C> {
    pub fn new(connector: C, config: Config, stop: Arc<AtomicBool>) -> Self {
        Pool {
            connector,
            config,
            state: Mutex::new(State { idle: Vec::new(), leased: 0, opening: 0, cap: config.max.max(1), refusals: 0 }),
            returned: Condvar::new(),
            stop,
        }
    }

    pub fn connector(&self) -> &C {
        &self.connector
    }

    /// How many sessions the pool may hold now: `max`, or fewer once the
    /// server refused some.
    pub fn cap(&self) -> usize {
        self.lock().cap
    }

    /// How many logins the server refused so far.
    pub fn refusals(&self) -> usize {
        self.lock().refusals
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State<C::Session>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands out a session: an idle one (checked if it idled a while), a new
    /// one while under the cap, or else the next one handed back.
    pub fn get(&self) -> Result<Lease<'_, C>, PoolError<C::Error>> {
        loop {
            if self.stopped() {
                return Err(PoolError::Stopped);
            }
            let mut expired = Vec::new();
            let step = {
                let mut st = self.lock();
                let now = Instant::now();
                let timeout = self.config.idle_timeout;
                let mut i = 0;
                while i < st.idle.len() {
                    if now.duration_since(st.idle[i].1) > timeout {
                        expired.push(st.idle.swap_remove(i).0);
                    } else {
                        i += 1;
                    }
                }
                if let Some((s, since)) = st.idle.pop() {
                    st.leased += 1;
                    Step::Reuse(s, since)
                } else if st.live() < st.cap {
                    st.opening += 1;
                    Step::Open
                } else {
                    let _ = self.returned.wait_timeout(st, WAIT_SLICE);
                    Step::Wait
                }
            };
            for s in expired {
                self.connector.close(s);
            }
            match step {
                Step::Wait => continue,
                Step::Reuse(mut s, since) => {
                    if since.elapsed() >= self.config.check_after && !self.connector.check(&mut s) {
                        self.connector.close(s);
                        self.lock().leased -= 1;
                        self.returned.notify_one();
                        continue;
                    }
                    return Ok(Lease { pool: self, session: Some(s) });
                }
                Step::Open => {
                    let opened = self.connector.open();
                    let mut st = self.lock();
                    st.opening -= 1;
                    match opened {
                        Ok(s) => {
                            st.leased += 1;
                            return Ok(Lease { pool: self, session: Some(s) });
                        }
                        Err(e) => {
                            // Wake waiters either way: a slot is free again.
                            self.returned.notify_all();
                            if self.connector.is_refusal(&e) && st.live() > 0 {
                                st.cap = st.live();
                                st.refusals += 1;
                                continue;
                            }
                            return Err(PoolError::Open(e));
                        }
                    }
                }
            }
        }
    }

    /// Adds a session opened elsewhere (the user's own connection) as idle;
    /// it counts against the cap like any other.
    pub fn add_idle(&self, s: C::Session) {
        self.lock().idle.push((s, Instant::now()));
        self.returned.notify_one();
    }

    fn put_back(&self, s: C::Session) {
        let mut st = self.lock();
        st.leased -= 1;
        st.idle.push((s, Instant::now()));
        drop(st);
        self.returned.notify_one();
    }

    fn discard(&self, s: C::Session) {
        self.connector.close(s);
        self.lock().leased -= 1;
        self.returned.notify_one();
    }

    /// Closes every idle session now.
    pub fn close_idle(&self) {
        let idle = std::mem::take(&mut self.lock().idle);
        for (s, _) in idle {
            self.connector.close(s);
        }
    }
}

impl<C: Connector> Drop for Pool<C> {
    fn drop(&mut self) {
        self.close_idle();
    }
}

/// A session on loan from the pool: handed back when dropped, or closed with
/// [`Lease::discard`] when it failed and its state is unknown.
pub struct Lease<'a, C: Connector> {
    pool: &'a Pool<C>,
    session: Option<C::Session>,
}

impl<C: Connector> Lease<'_, C> {
    pub fn discard(mut self) {
        if let Some(s) = self.session.take() {
            self.pool.discard(s);
        }
    }
}

impl<C: Connector> Deref for Lease<'_, C> {
    type Target = C::Session;
    fn deref(&self) -> &C::Session {
        self.session.as_ref().expect("a lease holds its session until dropped")
    }
}

impl<C: Connector> DerefMut for Lease<'_, C> {
    fn deref_mut(&mut self) -> &mut C::Session {
        self.session.as_mut().expect("a lease holds its session until dropped")
    }
}

impl<C: Connector> Drop for Lease<'_, C> {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            self.pool.put_back(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A fake server: allows `limit` sessions at once, refusing more with
    /// 421; `dead` makes every NOOP fail.
    #[derive(Default)]
    struct Fake {
        limit: usize,
        open_now: AtomicUsize,
        peak: AtomicUsize,
        opened: AtomicUsize,
        checks: AtomicUsize,
        dead: AtomicBool,
        refuse_with: Option<&'static str>,
    }

    struct FakeSession {
        id: usize,
    }

    impl Connector for Fake {
        type Session = FakeSession;
        type Error = String;
        fn open(&self) -> Result<FakeSession, String> {
            std::thread::sleep(Duration::from_millis(2));
            if let Some(reply) = self.refuse_with {
                return Err(reply.into());
            }
            let now = self.open_now.fetch_add(1, Ordering::SeqCst) + 1;
            if now > self.limit {
                self.open_now.fetch_sub(1, Ordering::SeqCst);
                return Err("421 Too many connections".into());
            }
            self.peak.fetch_max(now, Ordering::SeqCst);
            Ok(FakeSession { id: self.opened.fetch_add(1, Ordering::SeqCst) })
        }
        fn is_refusal(&self, e: &String) -> bool {
            e.starts_with("421") || e.starts_with("530")
        }
        fn check(&self, _: &mut FakeSession) -> bool {
            self.checks.fetch_add(1, Ordering::SeqCst);
            !self.dead.load(Ordering::SeqCst)
        }
        fn close(&self, _: FakeSession) {
            self.open_now.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn pool(fake: Fake, max: usize) -> Pool<Fake> {
        let config = Config { max, idle_timeout: Duration::from_secs(60), check_after: Duration::ZERO };
        Pool::new(fake, config, Arc::new(AtomicBool::new(false)))
    }

    /// `workers` threads each take `rounds` leases, holding each briefly.
    fn hammer(p: &Pool<Fake>, workers: usize, rounds: usize) {
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    for _ in 0..rounds {
                        let lease = p.get().expect("a session");
                        std::thread::sleep(Duration::from_millis(1));
                        drop(lease);
                    }
                });
            }
        });
    }

    #[test]
    fn never_more_than_the_cap() {
        let p = pool(Fake { limit: 100, ..Fake::default() }, 3);
        hammer(&p, 8, 10);
        // (Fewer when the threads happen to run one after another.)
        assert!(p.connector().peak.load(Ordering::SeqCst) <= 3);
        assert!(p.connector().opened.load(Ordering::SeqCst) <= 3, "sessions are reused");
        assert_eq!(p.cap(), 3);
    }

    #[test]
    fn shrinks_when_the_server_refuses_logins() {
        let p = pool(Fake { limit: 2, ..Fake::default() }, 8);
        let (a, b) = (p.get().unwrap(), p.get().unwrap());
        std::thread::scope(|s| {
            // The third login is refused: the caller waits for a session.
            let third = s.spawn(|| p.get().map(|l| l.id));
            while p.refusals() == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(p.cap(), 2);
            let id = a.id;
            drop(a);
            assert_eq!(third.join().unwrap().unwrap(), id);
        });
        drop(b);
        hammer(&p, 8, 5);
        assert_eq!(p.cap(), 2);
        assert_eq!(p.connector().peak.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_refused_first_login_is_an_error() {
        let p = pool(Fake { limit: 5, refuse_with: Some("530 Login incorrect."), ..Fake::default() }, 4);
        match p.get() {
            Err(PoolError::Open(e)) => assert_eq!(e, "530 Login incorrect."),
            _ => panic!("expected the login error"),
        };
    }

    #[test]
    fn a_refused_extra_login_waits_for_a_returned_session() {
        let p = pool(Fake { limit: 1, ..Fake::default() }, 2);
        let held = p.get().unwrap();
        // The second login is refused while one is live: the caller waits
        // for the first to come back rather than failing.
        let waiter = std::thread::scope(|s| {
            let h = s.spawn(|| p.get().map(|l| l.id));
            std::thread::sleep(Duration::from_millis(30));
            let first = held.id;
            drop(held);
            (first, h.join().unwrap())
        });
        assert_eq!(waiter.1.unwrap(), waiter.0, "the waiter got the session handed back");
        assert_eq!(p.cap(), 1);
    }

    #[test]
    fn noop_checks_idle_sessions_and_replaces_dead_ones() {
        let p = pool(Fake { limit: 10, ..Fake::default() }, 2);
        let first = p.get().unwrap().id;
        assert_eq!(p.get().unwrap().id, first, "reused");
        assert_eq!(p.connector().checks.load(Ordering::SeqCst), 1);
        p.connector().dead.store(true, Ordering::SeqCst);
        let fresh = p.get().unwrap().id;
        assert_ne!(fresh, first, "a session that fails NOOP is replaced");
        assert_eq!(p.connector().open_now.load(Ordering::SeqCst), 1, "the dead one was closed");
    }

    #[test]
    fn recently_returned_sessions_skip_the_check() {
        let config = Config { max: 2, idle_timeout: Duration::from_secs(60), check_after: Duration::from_secs(30) };
        let p = Pool::new(Fake { limit: 10, ..Fake::default() }, config, Arc::new(AtomicBool::new(false)));
        drop(p.get().unwrap());
        drop(p.get().unwrap());
        assert_eq!(p.connector().checks.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn idle_timeout_closes_old_sessions() {
        let config = Config { max: 2, idle_timeout: Duration::from_millis(20), check_after: Duration::ZERO };
        let p = Pool::new(Fake { limit: 10, ..Fake::default() }, config, Arc::new(AtomicBool::new(false)));
        let first = p.get().unwrap().id;
        std::thread::sleep(Duration::from_millis(40));
        assert_ne!(p.get().unwrap().id, first);
        assert_eq!(p.connector().checks.load(Ordering::SeqCst), 0, "expired, not checked");
        assert_eq!(p.connector().open_now.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn discard_frees_the_slot() {
        let p = pool(Fake { limit: 10, ..Fake::default() }, 1);
        let lease = p.get().unwrap();
        let first = lease.id;
        lease.discard();
        assert_ne!(p.get().unwrap().id, first);
        assert_eq!(p.connector().open_now.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn stop_wakes_waiters() {
        let stop = Arc::new(AtomicBool::new(false));
        let p = Pool::new(Fake { limit: 10, ..Fake::default() }, Config { max: 1, ..Config::default() }, stop.clone());
        let _held = p.get().unwrap();
        std::thread::scope(|s| {
            let h = s.spawn(|| p.get().map(|_| ()));
            std::thread::sleep(Duration::from_millis(20));
            stop.store(true, Ordering::SeqCst);
            assert!(matches!(h.join().unwrap(), Err(PoolError::Stopped)));
        });
    }

    #[test]
    fn an_added_session_is_used_first_and_counts() {
        let p = pool(Fake { limit: 10, ..Fake::default() }, 1);
        p.add_idle(FakeSession { id: 99 });
        assert_eq!(p.get().unwrap().id, 99);
        assert_eq!(p.connector().opened.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn close_idle_ends_every_idle_session() {
        let p = pool(Fake { limit: 10, ..Fake::default() }, 3);
        hammer(&p, 3, 2);
        assert!(p.connector().open_now.load(Ordering::SeqCst) >= 1);
        p.close_idle();
        assert_eq!(p.connector().open_now.load(Ordering::SeqCst), 0);
    }
}
