//! Bits per status (§4.1) and Status Type values (§7).

use std::fmt;

use crate::StatusListError;

/// The number of bits per Referenced Token in a Status List: 1, 2, 4 or 8 (§4.1 step 1).
///
/// Restricting `bits` to divisors of 8 keeps every status inside one byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bits {
    /// One bit per status: `VALID` or `INVALID`.
    One,
    /// Two bits per status: up to 4 Status Types (e.g. `SUSPENDED`).
    Two,
    /// Four bits per status: up to 16 Status Types.
    Four,
    /// Eight bits per status: up to 256 Status Types.
    Eight,
}

impl Bits {
    /// The number of bits, as the `bits` member carries it.
    pub fn get(self) -> u8 {
        match self {
            Self::One => 1,
            Self::Two => 2,
            Self::Four => 4,
            Self::Eight => 8,
        }
    }

    /// The largest status value that fits.
    pub fn max_status(self) -> u8 {
        match self {
            Self::One => 0x01,
            Self::Two => 0x03,
            Self::Four => 0x0f,
            Self::Eight => 0xff,
        }
    }

    /// How many statuses one byte holds (8, 4, 2 or 1).
    pub fn statuses_per_byte(self) -> u8 {
        8 / self.get()
    }

    /// Parses a `bits` value from any integer; anything but 1, 2, 4, 8 is
    /// [`StatusListError::InvalidBits`].
    pub(crate) fn from_int(value: i128) -> Result<Self, StatusListError> {
        match value {
            1 => Ok(Self::One),
            2 => Ok(Self::Two),
            4 => Ok(Self::Four),
            8 => Ok(Self::Eight),
            other => Err(StatusListError::InvalidBits(other)),
        }
    }
}

impl TryFrom<u8> for Bits {
    type Error = StatusListError;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::from_int(i128::from(value))
    }
}

impl From<Bits> for u8 {
    fn from(bits: Bits) -> Self {
        bits.get()
    }
}

impl fmt::Display for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}

/// A Status Type value (§7.1): the status of one Referenced Token.
///
/// Variants are in the order of the spec's registry. The processing rules of the Referenced
/// Token itself (e.g. its own `exp`) always take precedence over the status read here (§7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// `0x00` VALID: the Referenced Token is valid, correct or legal.
    Valid,
    /// `0x01` INVALID: revoked, annulled, taken back, recalled or cancelled.
    Invalid,
    /// `0x02` SUSPENDED: temporarily invalid.
    Suspended,
    /// `0x03` or `0x0C`..=`0x0F`: permanently reserved as application specific.
    ApplicationSpecific(u8),
    /// Any other value: reserved for future registration. Treat as "not valid" unless the
    /// application knows better.
    Other(u8),
}

impl Status {
    /// The numeric Status Type value.
    pub fn value(self) -> u8 {
        match self {
            Self::Valid => 0x00,
            Self::Invalid => 0x01,
            Self::Suspended => 0x02,
            Self::ApplicationSpecific(v) | Self::Other(v) => v,
        }
    }

    /// Whether this is `VALID`.
    pub fn is_valid(self) -> bool {
        self == Self::Valid
    }
}

impl From<u8> for Status {
    fn from(value: u8) -> Self {
        match value {
            0x00 => Self::Valid,
            0x01 => Self::Invalid,
            0x02 => Self::Suspended,
            0x03 | 0x0c..=0x0f => Self::ApplicationSpecific(value),
            other => Self::Other(other),
        }
    }
}

impl From<Status> for u8 {
    fn from(status: Status) -> Self {
        status.value()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid => f.write_str("VALID"),
            Self::Invalid => f.write_str("INVALID"),
            Self::Suspended => f.write_str("SUSPENDED"),
            Self::ApplicationSpecific(v) => write!(f, "application-specific (0x{v:02x})"),
            Self::Other(v) => write!(f, "unregistered (0x{v:02x})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_values_round_trip() {
        for v in 0..=u8::MAX {
            assert_eq!(Status::from(v).value(), v);
        }
        assert_eq!(Status::from(0), Status::Valid);
        assert_eq!(Status::from(1), Status::Invalid);
        assert_eq!(Status::from(2), Status::Suspended);
        assert_eq!(Status::from(3), Status::ApplicationSpecific(3));
        assert_eq!(Status::from(0x0c), Status::ApplicationSpecific(0x0c));
        assert_eq!(Status::from(4), Status::Other(4));
        assert_eq!(Status::from(0xff), Status::Other(0xff));
    }

    #[test]
    fn bits_accept_only_divisors_of_eight() {
        for (v, bits) in [
            (1, Bits::One),
            (2, Bits::Two),
            (4, Bits::Four),
            (8, Bits::Eight),
        ] {
            assert_eq!(Bits::try_from(v), Ok(bits));
            assert_eq!(bits.get(), v);
            assert_eq!(u16::from(bits.max_status()), (1u16 << v) - 1);
        }
        for v in [0u8, 3, 5, 6, 7, 9, 16, 255] {
            assert_eq!(
                Bits::try_from(v),
                Err(StatusListError::InvalidBits(i128::from(v)))
            );
        }
    }
}
