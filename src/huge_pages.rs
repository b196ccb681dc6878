//! Transparent huge pages: off for wildside-tofu itself, as the system sets them for the programs it runs.
//!
//! mimalloc reserves its memory in 2 MiB-aligned arenas, so where THP is `always` the first touch of each region
//! zeroes a whole 2 MiB page: that costs a short run (a no-op `up`, a key provider tofu starts) more than its own
//! work. The binary turns THP off for itself before anything allocates ([`turn_off_for_this_process`]), as
//! mimalloc's `allow_thp` option would from the environment. The flag is inherited through exec, so it is
//! switched back while a child is spawned ([`AsTheSystemSets`]): tofu runs as it would on its own.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this process turned THP off (not when it was already off as it started).
static TURNED_OFF: AtomicBool = AtomicBool::new(false);

/// Turns THP off for this process, unless it already is. Called before `main`, so it must not allocate.
pub fn turn_off_for_this_process() {
    #[cfg(target_os = "linux")]
    {
        use nix::sys::prctl::{get_thp_disable, set_thp_disable};
        if get_thp_disable() == Ok(false) && set_thp_disable(true).is_ok() {
            TURNED_OFF.store(true, Ordering::Relaxed);
        }
    }
}

/// THP as the process found it, for as long as this lives: hold it across a child's spawn.
#[must_use]
pub(crate) struct AsTheSystemSets(bool);

impl AsTheSystemSets {
    pub(crate) fn for_a_child() -> Self {
        let turned_off = TURNED_OFF.load(Ordering::Relaxed);
        #[cfg(target_os = "linux")]
        if turned_off {
            let _ = nix::sys::prctl::set_thp_disable(false);
        }
        Self(turned_off)
    }
}

impl Drop for AsTheSystemSets {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if self.0 {
            let _ = nix::sys::prctl::set_thp_disable(true);
        }
    }
}
