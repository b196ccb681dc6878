//! The closed sets of names a platform section chooses from: maintenance days, taint effects and Vault
//! distributions, each with the name a stack file and the modules use.

macro_rules! choices {
    ($(#[$doc:meta])* $type:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $type {
            $($variant),+
        }

        impl $type {
            pub const ALL: &'static [$type] = &[$($type::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The name stack files and modules use.
            pub fn name(self) -> &'static str {
                match self {
                    $($type::$variant => $name),+
                }
            }

            /// The choice with this name.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|choice| choice.name() == name)
            }
        }
    };
}

choices! {
    /// A day of the cluster's maintenance window.
    Weekday {
        Monday => "monday",
        Tuesday => "tuesday",
        Wednesday => "wednesday",
        Thursday => "thursday",
        Friday => "friday",
        Saturday => "saturday",
        Sunday => "sunday",
        Any => "any",
    }
}

choices! {
    /// What a node-pool taint does to pods that do not tolerate it.
    TaintEffect {
        NoSchedule => "NoSchedule",
        PreferNoSchedule => "PreferNoSchedule",
        NoExecute => "NoExecute",
    }
}

choices! {
    /// Which Vault the appliance installs.
    Distribution {
        OpenBao => "openbao",
        Vault => "vault",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_choices_match_both_ways() {
        for day in Weekday::ALL {
            assert_eq!(Weekday::from_name(day.name()), Some(*day));
        }
        assert_eq!(TaintEffect::NAMES.len(), TaintEffect::ALL.len());
        assert_eq!(Distribution::from_name("vault"), Some(Distribution::Vault));
        assert_eq!(Distribution::from_name("consul"), None);
    }
}
