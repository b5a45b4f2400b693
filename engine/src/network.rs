//! PostgreSQL's network address types, `inet` and `cidr`, for both engines and the wire. Both
//! engines hold a value as its canonical text (what PostgreSQL prints: `10.1.2.3/8`,
//! `2001:db8::1`, `10.0.0.0/8` for a cidr), made by [`NetAddr::parse`] as it is stored, so
//! equality, grouping and DISTINCT are text equality. What text cannot do goes through the
//! functions here: order (PostgreSQL's: family, then the common prefix, then the mask length,
//! then the whole address; [`NetAddr::sort_key`] is a text that sorts that way), containment,
//! arithmetic and the functions of the types (`host`, `network`, `masklen`, ...).

use crate::error::{EngineError, Result};

/// Which of the two types a value is read or written as: an `inet` is a host address with an
/// optional netmask, a `cidr` a network (no bits set right of its mask, always shown with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetKind {
    Inet,
    Cidr,
}

impl NetKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Inet => "inet",
            Self::Cidr => "cidr",
        }
    }

    /// The column type of this kind.
    pub fn pg_type(self) -> crate::catalog::PgType {
        match self {
            Self::Inet => crate::catalog::PgType::Inet,
            Self::Cidr => crate::catalog::PgType::Cidr,
        }
    }

    /// The kind a type name (`inet`, `cidr`) names.
    pub fn of_name(name: &str) -> Option<Self> {
        match name {
            "inet" => Some(Self::Inet),
            "cidr" => Some(Self::Cidr),
            _ => None,
        }
    }
}

/// An IPv4 or IPv6 address with its mask length. An IPv4 address is the low 32 bits of `addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetAddr {
    pub v6: bool,
    pub addr: u128,
    pub bits: u8,
}

impl NetAddr {
    /// The address length in bits: 32 or 128.
    pub fn max_bits(&self) -> u8 {
        if self.v6 { 128 } else { 32 }
    }

    /// `bits` ones from the top of an address of this family.
    fn mask_of(&self, bits: u8) -> u128 {
        let width = u32::from(self.max_bits());
        let all = if self.v6 { u128::MAX } else { u128::from(u32::MAX) };
        if bits == 0 { 0 } else { (all << (width - u32::from(bits))) & all }
    }

    fn netmask_bits(&self) -> u128 {
        self.mask_of(self.bits)
    }

    fn all_ones(&self) -> u128 {
        self.mask_of(self.max_bits())
    }

    /// Reads PostgreSQL's input for `kind` (22P02 as PostgreSQL words it where it is none; a
    /// cidr with bits set right of its mask is `invalid cidr value`).
    ///
    /// # Errors
    /// [`EngineError::InvalidTextRepresentation`] or [`EngineError::InvalidCidr`].
    pub fn parse(text: &str, kind: NetKind) -> Result<Self> {
        let invalid = || EngineError::InvalidTextRepresentation { type_name: kind.name().into(), value: text.into() };
        let value = if text.contains(':') { parse_v6(text) } else { parse_v4(text, kind) }.ok_or_else(invalid)?;
        if kind == NetKind::Cidr && value.addr & !value.netmask_bits() != 0 {
            return Err(EngineError::InvalidCidr { value: text.into() });
        }
        Ok(value)
    }

    /// PostgreSQL's output of the value as `kind`: the mask is shown unless the value is an
    /// inet of a single host.
    pub fn to_text(&self, kind: NetKind) -> String {
        let mut out = self.address_text();
        if kind == NetKind::Cidr || self.bits != self.max_bits() {
            out.push_str(&format!("/{}", self.bits));
        }
        out
    }

    /// `text(inet)`, and any conversion of an inet to text: always with the mask.
    pub fn text_with_mask(&self) -> String {
        format!("{}/{}", self.address_text(), self.bits)
    }

    /// The address alone (`host()`).
    pub fn address_text(&self) -> String {
        if self.v6 { v6_text(self.addr) } else { v4_text(self.addr as u32) }
    }

    /// `abbrev()`: an inet as output; a cidr with only the octets (IPv4) or words (IPv6) its
    /// mask covers.
    pub fn abbrev(&self, kind: NetKind) -> String {
        match kind {
            NetKind::Inet => self.to_text(kind),
            NetKind::Cidr if self.v6 => format!("{}/{}", v6_abbrev(self.addr & self.netmask_bits(), self.bits), self.bits),
            NetKind::Cidr => format!("{}/{}", v4_abbrev(self.addr as u32, self.bits), self.bits),
        }
    }

    pub fn family(&self) -> i32 {
        if self.v6 { 6 } else { 4 }
    }

    /// `network()`: the address with its host bits cleared (a cidr).
    pub fn network(&self) -> Self {
        Self { addr: self.addr & self.netmask_bits(), ..*self }
    }

    /// `broadcast()`: the address with its host bits set.
    pub fn broadcast(&self) -> Self {
        Self { addr: (self.addr | !self.netmask_bits()) & self.all_ones(), ..*self }
    }

    /// `netmask()`: the mask as a host address.
    pub fn netmask(&self) -> Self {
        Self { addr: self.netmask_bits(), bits: self.max_bits(), v6: self.v6 }
    }

    /// `hostmask()`: the host bits as a host address.
    pub fn hostmask(&self) -> Self {
        Self { addr: !self.netmask_bits() & self.all_ones(), bits: self.max_bits(), v6: self.v6 }
    }

    /// `set_masklen(value, bits)`: -1 means the family's full length; a cidr drops the bits
    /// right of its new mask.
    ///
    /// # Errors
    /// 22023 for a length outside 0 to the family's.
    pub fn set_masklen(&self, bits: i64, kind: NetKind) -> Result<Self> {
        let bits = if bits == -1 { i64::from(self.max_bits()) } else { bits };
        let bits = u8::try_from(bits)
            .ok()
            .filter(|b| *b <= self.max_bits())
            .ok_or_else(|| EngineError::InvalidArgument { message: format!("invalid mask length: {bits}") })?;
        let value = Self { bits, ..*self };
        Ok(if kind == NetKind::Cidr { value.network() } else { value })
    }

    /// Whether the two share the first `bits` bits of their addresses.
    fn same_prefix(&self, other: &Self, bits: u8) -> bool {
        let mask = self.mask_of(bits);
        self.addr & mask == other.addr & mask
    }

    /// `self >> other` (`or_equal`: `>>=`): `other` lies within `self`'s network.
    pub fn contains(&self, other: &Self, or_equal: bool) -> bool {
        self.v6 == other.v6 && (if or_equal { self.bits <= other.bits } else { self.bits < other.bits }) && self.same_prefix(other, self.bits)
    }

    /// `self && other`: either network contains or equals the other.
    pub fn overlaps(&self, other: &Self) -> bool {
        self.v6 == other.v6 && self.same_prefix(other, self.bits.min(other.bits))
    }

    /// `inet_same_family()`.
    pub fn same_family(&self, other: &Self) -> bool {
        self.v6 == other.v6
    }

    /// `inet_merge()`: the smallest network including both.
    ///
    /// # Errors
    /// 22023 for addresses of different families.
    pub fn merge(&self, other: &Self) -> Result<Self> {
        if self.v6 != other.v6 {
            return Err(EngineError::InvalidArgument { message: "cannot merge addresses from different families".into() });
        }
        let mut bits = self.bits.min(other.bits);
        while bits > 0 && !self.same_prefix(other, bits) {
            bits -= 1;
        }
        Ok(Self { bits, ..*self }.network())
    }

    /// `value + n` (`value - n` with `n` negated), keeping the mask.
    ///
    /// # Errors
    /// 22003 past the family's addresses.
    pub fn add(&self, n: i128) -> Result<Self> {
        let addr = if n >= 0 { self.addr.checked_add(n.unsigned_abs()) } else { self.addr.checked_sub(n.unsigned_abs()) };
        match addr {
            Some(addr) if addr <= self.all_ones() => Ok(Self { addr, ..*self }),
            _ => Err(EngineError::NetworkResultOutOfRange),
        }
    }

    /// `a - b`: the difference of the addresses (bigint).
    ///
    /// # Errors
    /// 22023 for addresses of different families, 22003 past bigint.
    pub fn difference(&self, other: &Self) -> Result<i64> {
        if self.v6 != other.v6 {
            return Err(EngineError::InvalidArgument { message: "cannot subtract inet values of different sizes".into() });
        }
        let difference = if self.addr >= other.addr {
            i64::try_from(self.addr - other.addr).ok()
        } else {
            i64::try_from(other.addr - self.addr).ok().map(|d| -d).or_else(|| (other.addr - self.addr == 1u128 << 63).then_some(i64::MIN))
        };
        difference.ok_or(EngineError::NetworkResultOutOfRange)
    }

    /// `a & b` (`and`) or `a | b`: the addresses' bits combined, the wider mask kept.
    ///
    /// # Errors
    /// 22023 for addresses of different families.
    pub fn bitwise(&self, other: &Self, and: bool) -> Result<Self> {
        if self.v6 != other.v6 {
            let op = if and { "AND" } else { "OR" };
            return Err(EngineError::InvalidArgument { message: format!("cannot {op} inet values of different sizes") });
        }
        let addr = if and { self.addr & other.addr } else { self.addr | other.addr };
        Ok(Self { addr, bits: self.bits.max(other.bits), v6: self.v6 })
    }

    /// `~a`: the address's bits inverted, its mask kept.
    pub fn not(&self) -> Self {
        Self { addr: !self.addr & self.all_ones(), ..*self }
    }

    /// A text that sorts, byte by byte, as PostgreSQL orders the values: the family, the
    /// address under the mask, the mask length, the whole address (hex). Comparing the common
    /// prefix first and then the lengths, as PostgreSQL does, comes to the same order.
    pub fn sort_key(&self) -> String {
        let width = if self.v6 { 32 } else { 8 };
        format!("{}{:0width$x}{:02x}{:0width$x}", u8::from(self.v6), self.network().addr, self.bits, self.addr)
    }

    /// The value a [`NetAddr::sort_key`] was made from.
    pub fn from_sort_key(key: &str) -> Option<Self> {
        let v6 = match key.get(..1)? {
            "0" => false,
            "1" => true,
            _ => return None,
        };
        let width = if v6 { 32 } else { 8 };
        let bits = u8::from_str_radix(key.get(1 + width..3 + width)?, 16).ok()?;
        let addr = u128::from_str_radix(key.get(3 + width..3 + 2 * width)?, 16).ok()?;
        let value = Self { v6, addr, bits };
        (bits <= value.max_bits() && addr <= value.all_ones()).then_some(value)
    }

    /// PostgreSQL's binary format: family (2 for IPv4, 3 for IPv6), mask length, whether it
    /// is a cidr, address length, address bytes.
    pub fn to_binary(&self, kind: NetKind) -> Vec<u8> {
        let mut out = vec![if self.v6 { 3 } else { 2 }, self.bits, u8::from(kind == NetKind::Cidr), if self.v6 { 16 } else { 4 }];
        if self.v6 {
            out.extend_from_slice(&self.addr.to_be_bytes());
        } else {
            out.extend_from_slice(&(self.addr as u32).to_be_bytes());
        }
        out
    }

    /// Reads [`NetAddr::to_binary`]'s format; `None` where the bytes are not one.
    pub fn from_binary(bytes: &[u8]) -> Option<Self> {
        let (&[family, bits, _, len], addr) = bytes.split_first_chunk::<4>()?;
        let v6 = match (family, len) {
            (2, 4) => false,
            (3, 16) => true,
            _ => return None,
        };
        let addr = match addr.len() {
            4 if !v6 => u128::from(u32::from_be_bytes(addr.try_into().ok()?)),
            16 if v6 => u128::from_be_bytes(addr.try_into().ok()?),
            _ => return None,
        };
        let value = Self { v6, addr, bits };
        (bits <= value.max_bits()).then_some(value)
    }
}

/// A function of the network types as both engines call it (SQLite's `oltp::network`,
/// DataFusion's `olap::network`), under the name the translation gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetFunction {
    /// `rhei_inet(value, kind)`: a value read as `kind` (a cast, a value stored).
    Input,
    /// `rhei_inet_text(value)`: `text(inet)`, any conversion to text.
    Text,
    Host,
    Masklen,
    Family,
    Network,
    Broadcast,
    Netmask,
    Hostmask,
    /// `rhei_inet_abbrev(value, kind)`.
    Abbrev,
    /// `rhei_set_masklen(value, bits, kind)`.
    SetMasklen,
    SameFamily,
    Merge,
    /// `rhei_inet_contains(a, b)`: `a >> b`.
    Contains,
    /// `rhei_inet_contains_or_equal(a, b)`: `a >>= b`.
    ContainsOrEqual,
    /// `rhei_inet_overlaps(a, b)`: `a && b`.
    Overlaps,
    /// `rhei_inet_add(a, n)`: `a + n`, `a - n` with `n` negated.
    Add,
    /// `rhei_inet_difference(a, b)`: `a - b`.
    Difference,
    /// `rhei_inet_and(a, b)`, `rhei_inet_or(a, b)`, `rhei_inet_not(a)`: `&`, `|`, `~`.
    And,
    Or,
    Not,
    /// `rhei_inet_key(value)`: [`NetAddr::sort_key`].
    Key,
    /// `rhei_inet_of_key(key, kind)`: the value back from its key (`min`, `max`).
    OfKey,
}

/// An argument of a [`NetFunction`].
#[derive(Debug, Clone, Copy)]
pub enum NetArg<'a> {
    Null,
    Text(&'a str),
    Int(i64),
    /// A number with a fraction, which no function of the types takes.
    Float(f64),
}

/// What a [`NetFunction`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetValue {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
}

/// The type of a [`NetFunction`]'s result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetResultType {
    /// A network value: of this kind, or of the kind its last argument names.
    Net(Option<NetKind>),
    Text,
    Int4,
    Int8,
    Bool,
}

impl NetFunction {
    /// Each function with its name and number of arguments.
    pub const ALL: &'static [(&'static str, Self, usize)] = &[
        ("rhei_inet", Self::Input, 2),
        ("rhei_inet_text", Self::Text, 1),
        ("host", Self::Host, 1),
        ("masklen", Self::Masklen, 1),
        ("family", Self::Family, 1),
        ("network", Self::Network, 1),
        ("broadcast", Self::Broadcast, 1),
        ("netmask", Self::Netmask, 1),
        ("hostmask", Self::Hostmask, 1),
        ("rhei_inet_abbrev", Self::Abbrev, 2),
        ("rhei_set_masklen", Self::SetMasklen, 3),
        ("inet_same_family", Self::SameFamily, 2),
        ("inet_merge", Self::Merge, 2),
        ("rhei_inet_contains", Self::Contains, 2),
        ("rhei_inet_contains_or_equal", Self::ContainsOrEqual, 2),
        ("rhei_inet_overlaps", Self::Overlaps, 2),
        ("rhei_inet_add", Self::Add, 2),
        ("rhei_inet_difference", Self::Difference, 2),
        ("rhei_inet_and", Self::And, 2),
        ("rhei_inet_or", Self::Or, 2),
        ("rhei_inet_not", Self::Not, 1),
        ("rhei_inet_key", Self::Key, 1),
        ("rhei_inet_of_key", Self::OfKey, 2),
    ];

    /// The function of a name in [`NetFunction::ALL`].
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, ..)| *n == name).map(|(_, f, _)| *f)
    }

    pub fn result_type(self) -> NetResultType {
        use NetResultType as R;
        match self {
            Self::Input | Self::SetMasklen | Self::OfKey => R::Net(None),
            Self::Network | Self::Merge => R::Net(Some(NetKind::Cidr)),
            Self::Broadcast | Self::Netmask | Self::Hostmask | Self::Add | Self::And | Self::Or | Self::Not => R::Net(Some(NetKind::Inet)),
            Self::Text | Self::Host | Self::Abbrev | Self::Key => R::Text,
            Self::Masklen | Self::Family => R::Int4,
            Self::Difference => R::Int8,
            Self::SameFamily | Self::Contains | Self::ContainsOrEqual | Self::Overlaps => R::Bool,
        }
    }

    /// Whether argument `i` is a number (the others are text).
    pub fn takes_number(self, i: usize) -> bool {
        matches!((self, i), (Self::SetMasklen | Self::Add, 1))
    }

    /// The function of `args`: NULL for a NULL argument.
    ///
    /// # Errors
    /// An argument that is no value of the types (22P02), and each function's own.
    pub fn call(self, args: &[NetArg<'_>]) -> Result<NetValue> {
        if args.iter().any(|a| matches!(a, NetArg::Null)) {
            return Ok(NetValue::Null);
        }
        let text = |i: usize| match args.get(i) {
            Some(NetArg::Text(t)) => Ok(*t),
            Some(NetArg::Int(n)) => Err(EngineError::InvalidTextRepresentation { type_name: "inet".into(), value: n.to_string() }),
            Some(NetArg::Float(f)) => Err(EngineError::InvalidTextRepresentation { type_name: "inet".into(), value: f.to_string() }),
            _ => Err(EngineError::Internal(format!("network function argument {i} is missing"))),
        };
        let number = |i: usize| match args.get(i) {
            Some(NetArg::Int(n)) => Ok(*n),
            Some(NetArg::Text(t)) => t.trim().parse().map_err(|_| EngineError::InvalidTextRepresentation { type_name: "bigint".into(), value: (*t).into() }),
            Some(NetArg::Float(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(*f as i64),
            Some(NetArg::Float(f)) => Err(EngineError::InvalidTextRepresentation { type_name: "bigint".into(), value: f.to_string() }),
            _ => Err(EngineError::Internal(format!("network function argument {i} is missing"))),
        };
        let value = |i: usize| NetAddr::parse(text(i)?, NetKind::Inet);
        let kind = |i: usize| text(i).and_then(|k| NetKind::of_name(k).ok_or_else(|| EngineError::Internal(format!("not a network type: {k}"))));
        let net = |v: NetAddr, kind: NetKind| Ok(NetValue::Text(v.to_text(kind)));
        match self {
            Self::Input => Ok(NetValue::Text(canonical(text(0)?, kind(1)?)?)),
            Self::Text => Ok(NetValue::Text(value(0)?.text_with_mask())),
            Self::Host => Ok(NetValue::Text(value(0)?.address_text())),
            Self::Masklen => Ok(NetValue::Int(i64::from(value(0)?.bits))),
            Self::Family => Ok(NetValue::Int(i64::from(value(0)?.family()))),
            Self::Network => net(value(0)?.network(), NetKind::Cidr),
            Self::Broadcast => net(value(0)?.broadcast(), NetKind::Inet),
            Self::Netmask => net(value(0)?.netmask(), NetKind::Inet),
            Self::Hostmask => net(value(0)?.hostmask(), NetKind::Inet),
            Self::Abbrev => Ok(NetValue::Text(value(0)?.abbrev(kind(1)?))),
            Self::SetMasklen => {
                let kind = kind(2)?;
                net(value(0)?.set_masklen(number(1)?, kind)?, kind)
            }
            Self::SameFamily => Ok(NetValue::Bool(value(0)?.same_family(&value(1)?))),
            Self::Merge => net(value(0)?.merge(&value(1)?)?, NetKind::Cidr),
            Self::Contains => Ok(NetValue::Bool(value(0)?.contains(&value(1)?, false))),
            Self::ContainsOrEqual => Ok(NetValue::Bool(value(0)?.contains(&value(1)?, true))),
            Self::Overlaps => Ok(NetValue::Bool(value(0)?.overlaps(&value(1)?))),
            Self::Add => net(value(0)?.add(i128::from(number(1)?))?, NetKind::Inet),
            Self::Difference => Ok(NetValue::Int(value(0)?.difference(&value(1)?)?)),
            Self::And | Self::Or => net(value(0)?.bitwise(&value(1)?, self == Self::And)?, NetKind::Inet),
            Self::Not => net(value(0)?.not(), NetKind::Inet),
            Self::Key => Ok(NetValue::Text(value(0)?.sort_key())),
            Self::OfKey => {
                let key = text(0)?;
                let value = NetAddr::from_sort_key(key).ok_or_else(|| EngineError::Internal(format!("not a network sort key: {key}")))?;
                net(value, kind(1)?)
            }
        }
    }
}

/// `text` in `kind`'s canonical form (what both engines store).
///
/// # Errors
/// As [`NetAddr::parse`].
pub fn canonical(text: &str, kind: NetKind) -> Result<String> {
    Ok(NetAddr::parse(text, kind)?.to_text(kind))
}

/// Decimal digits of `s` as a number up to `max`, leading zeros allowed; `None` if `s` is
/// empty, has another character or is too large.
fn decimal(s: &str, max: u32) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.bytes().try_fold(0u32, |n, b| Some(n * 10 + u32::from(b - b'0')).filter(|n| *n <= max))
}

/// IPv4 input: one to four dotted decimal octets and an optional `/bits`. An inet needs all
/// four octets unless a mask is given (and a mask may not reach past the octets written); a
/// cidr without a mask takes its class's (`10` is `10.0.0.0/8`, `192.168` `192.168.0.0/24`).
fn parse_v4(text: &str, kind: NetKind) -> Option<NetAddr> {
    let (address, bits) = match text.split_once('/') {
        Some((address, bits)) => (address, Some(decimal(bits, 32)?)),
        None => (text, None),
    };
    let octets = address.split('.').map(|o| decimal(o, 255)).collect::<Option<Vec<u32>>>()?;
    if octets.is_empty() || octets.len() > 4 {
        return None;
    }
    let written = octets.len() as u32;
    let bits = match (bits, kind) {
        (Some(bits), NetKind::Inet) if bits / 8 > written => return None,
        (Some(bits), _) => bits,
        (None, NetKind::Inet) if written == 4 => 32,
        (None, NetKind::Inet) => return None,
        (None, NetKind::Cidr) => {
            let first = octets[0];
            let class = match first {
                240.. => 32,
                224.. => 8,
                192.. => 24,
                128.. => 16,
                _ => 8,
            };
            let bits = class.max(written * 8);
            if bits == 8 && first == 224 { 4 } else { bits }
        }
    };
    let addr = octets.iter().chain(std::iter::repeat(&0)).take(4).fold(0u32, |a, o| (a << 8) | o);
    Some(NetAddr { v6: false, addr: u128::from(addr), bits: bits as u8 })
}

/// IPv6 input: an address as `std::net::Ipv6Addr` reads it (hex words, `::`, a dotted IPv4
/// tail) and an optional `/bits` written without leading zeros.
fn parse_v6(text: &str) -> Option<NetAddr> {
    let (address, bits) = match text.split_once('/') {
        Some((address, bits)) => {
            if bits.len() > 1 && bits.starts_with('0') {
                return None;
            }
            (address, decimal(bits, 128)?)
        }
        None => (text, 128),
    };
    let addr: std::net::Ipv6Addr = address.parse().ok()?;
    Some(NetAddr { v6: true, addr: u128::from(addr), bits: bits as u8 })
}

fn v4_text(addr: u32) -> String {
    let [a, b, c, d] = addr.to_be_bytes();
    format!("{a}.{b}.{c}.{d}")
}

/// The eight 16-bit words of an IPv6 address.
fn words(addr: u128) -> [u16; 8] {
    let mut words = [0u16; 8];
    for (i, w) in words.iter_mut().enumerate() {
        *w = (addr >> (112 - 16 * i)) as u16;
    }
    words
}

/// The longest run of zero words among `words` at least `min` long (the first of equal runs),
/// as (start, length).
fn longest_zero_run(words: &[u16], min: usize) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < words.len() {
        if words[i] == 0 {
            let start = i;
            while i < words.len() && words[i] == 0 {
                i += 1;
            }
            let len = i - start;
            if len >= min && best.is_none_or(|(_, l)| len > l) {
                best = Some((start, len));
            }
        } else {
            i += 1;
        }
    }
    best
}

/// PostgreSQL's IPv6 text: the longest run of two or more zero words as `::`, hex words in
/// lower case, and the last 32 bits dotted where the address is an IPv4 one embedded
/// (`::1.2.3.4`, `::ffff:1.2.3.4`).
fn v6_text(addr: u128) -> String {
    let words = words(addr);
    let run = longest_zero_run(&words, 2);
    let embeds_v4 = matches!(run, Some((0, 6))) || (matches!(run, Some((0, 5))) && words[5] == 0xffff);
    let shown = if embeds_v4 { 6 } else { 8 };
    let mut out = String::new();
    let mut i = 0;
    while i < shown {
        if let Some((start, len)) = run
            && i == start
        {
            out.push_str("::");
            i += len;
            continue;
        }
        if !out.is_empty() && !out.ends_with(':') {
            out.push(':');
        }
        out.push_str(&format!("{:x}", words[i]));
        i += 1;
    }
    if embeds_v4 {
        if !out.ends_with(':') {
            out.push(':');
        }
        out.push_str(&v4_text(addr as u32));
    }
    out
}

/// `abbrev(cidr)` of an IPv4 network: the octets the mask covers (a partial one masked).
fn v4_abbrev(addr: u32, bits: u8) -> String {
    if bits == 0 {
        return "0".into();
    }
    let octets = addr.to_be_bytes();
    let shown = usize::from(bits).div_ceil(8);
    octets[..shown].iter().map(u8::to_string).collect::<Vec<_>>().join(".")
}

/// `abbrev(cidr)` of an IPv6 network: the words the mask covers (at least two), the longest
/// zero run among them as `::`, an embedded IPv4 tail dotted and cut to the octets covered.
fn v6_abbrev(addr: u128, bits: u8) -> String {
    let all = words(addr);
    let shown = usize::from(bits).div_ceil(16).max(2);
    let words = &all[..shown];
    let run = longest_zero_run(words, 1);
    let bytes = addr.to_be_bytes();
    let embeds_v4 = run.is_some_and(|(start, len)| {
        len != shown && start == 0 && (len == 6 || (len == 5 && all[5] == 0xffff) || (len == 7 && bytes[14] != 0 && bytes[15] != 1))
    });
    let mut out = String::new();
    for p in 0..shown {
        if let Some((start, len)) = run
            && p >= start
            && p < start + len
        {
            if p == start {
                out.push(':');
            }
            if p == shown - 1 {
                out.push(':');
            }
            continue;
        }
        if embeds_v4 && p > 5 {
            out.push(if p == 6 { ':' } else { '.' });
            out.push_str(&bytes[2 * p].to_string());
            if p != 7 || bits > 120 {
                out.push('.');
                out.push_str(&bytes[2 * p + 1].to_string());
            }
        } else {
            if !out.is_empty() {
                out.push(':');
            }
            out.push_str(&format!("{:x}", words[p]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inet(text: &str) -> String {
        canonical(text, NetKind::Inet).unwrap()
    }

    fn cidr(text: &str) -> String {
        canonical(text, NetKind::Cidr).unwrap()
    }

    fn state(text: &str, kind: NetKind) -> &'static str {
        NetAddr::parse(text, kind).unwrap_err().sqlstate()
    }

    /// Each expected text is PostgreSQL 15's output for the input.
    #[test]
    fn reads_and_writes_as_postgresql_does() {
        assert_eq!(inet("10.1.2.3/8"), "10.1.2.3/8");
        assert_eq!(inet("1.2.3.4/32"), "1.2.3.4");
        assert_eq!(inet("10/8"), "10.0.0.0/8");
        assert_eq!(inet("10.1/16"), "10.1.0.0/16");
        assert_eq!(inet("010.001.002.003"), "10.1.2.3");
        assert_eq!(inet("1.2.3.4/08"), "1.2.3.4/8");
        assert_eq!(cidr("10/8"), "10.0.0.0/8");
        assert_eq!(cidr("1.2.3.4"), "1.2.3.4/32");
        assert_eq!(cidr("10.1"), "10.1.0.0/16");
        assert_eq!(cidr("192.168"), "192.168.0.0/24");
        assert_eq!(cidr("128"), "128.0.0.0/16");
        assert_eq!(cidr("10"), "10.0.0.0/8");
        assert_eq!(cidr("224.1"), "224.1.0.0/16");
        assert_eq!(cidr("200.1.2.0"), "200.1.2.0/32");
        assert_eq!(cidr("010.1.2.3"), "10.1.2.3/32");
        for (input, output) in [
            ("::1.2.3.4", "::1.2.3.4"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("2001:DB8::0:1/64", "2001:db8::1/64"),
            ("::1/128", "::1"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
            ("1:0:0:0:0:0:0:8", "1::8"),
            ("1:0:0:1:0:0:0:8", "1:0:0:1::8"),
            ("1::2:0:0:8", "1::2:0:0:8"),
            ("0:0:0:0:0:0:0:1", "::1"),
            ("::ffff:0:0", "::ffff:0.0.0.0"),
            ("::ffff:102:304", "::ffff:1.2.3.4"),
            ("::102:304", "::1.2.3.4"),
            ("::1:2:3", "::1:2:3"),
            ("::0.0.1.0", "::100"),
            ("::1:0:0:0", "::1:0:0:0"),
            ("0:0:0:0:0:1:0:0", "::1:0:0"),
            ("1:0:0:0:1:0:0:0", "1::1:0:0:0"),
            ("::ffff:1.2.3.4/100", "::ffff:1.2.3.4/100"),
            ("ffff::", "ffff::"),
            ("0:0:0:0:0:ffff:0:1", "::ffff:0.0.0.1"),
            ("::", "::"),
        ] {
            assert_eq!(inet(input), output, "{input}");
        }
        for bad in ["10", "1.2.3", " 1.2.3.4 ", "1.2.3.4/33", "abc", "1.2.3.256", "0x0a.1.2.3", "fe80::1%eth0", "1.2.3.4/", "1.2.3.4/a", "::1/129", "::1/08", "10/16", ""] {
            assert_eq!(state(bad, NetKind::Inet), "22P02", "{bad}");
        }
        assert_eq!(state("1.2.3.4/33", NetKind::Cidr), "22P02");
        let host_bits = NetAddr::parse("10.1.2.3/8", NetKind::Cidr).unwrap_err();
        assert_eq!((host_bits.sqlstate(), host_bits.to_string().as_str()), ("22P02", "invalid cidr value: \"10.1.2.3/8\""));
        assert_eq!(host_bits.detail(), Some("Value has bits set to right of mask."));
        assert_eq!(state("::1.2.3.4/120", NetKind::Cidr), "22P02");
    }

    #[test]
    fn functions_answer_as_postgresql_does() {
        let v = |t: &str| NetAddr::parse(t, NetKind::Inet).unwrap();
        let c = |t: &str| NetAddr::parse(t, NetKind::Cidr).unwrap();
        let a = v("1.2.3.4/8");
        assert_eq!(a.text_with_mask(), "1.2.3.4/8");
        assert_eq!(v("1.2.3.4").text_with_mask(), "1.2.3.4/32");
        assert_eq!(a.address_text(), "1.2.3.4");
        assert_eq!(a.network().to_text(NetKind::Cidr), "1.0.0.0/8");
        assert_eq!(a.broadcast().to_text(NetKind::Inet), "1.255.255.255/8");
        assert_eq!(a.netmask().to_text(NetKind::Inet), "255.0.0.0");
        assert_eq!(a.hostmask().to_text(NetKind::Inet), "0.255.255.255");
        let b = v("2001:db8::1/64");
        assert_eq!(v("::1/64").network().to_text(NetKind::Cidr), "::/64");
        assert_eq!(b.broadcast().to_text(NetKind::Inet), "2001:db8::ffff:ffff:ffff:ffff/64");
        assert_eq!(v("::1/64").netmask().to_text(NetKind::Inet), "ffff:ffff:ffff:ffff::");
        assert_eq!(v("::1/64").hostmask().to_text(NetKind::Inet), "::ffff:ffff:ffff:ffff");
        assert_eq!(v("::1").text_with_mask(), "::1/128");
        assert_eq!(v("1.2.3.4").set_masklen(16, NetKind::Inet).unwrap().to_text(NetKind::Inet), "1.2.3.4/16");
        assert_eq!(c("10.0.0.0/8").set_masklen(16, NetKind::Cidr).unwrap().to_text(NetKind::Cidr), "10.0.0.0/16");
        assert_eq!(c("10.0.0.0/16").set_masklen(8, NetKind::Cidr).unwrap().to_text(NetKind::Cidr), "10.0.0.0/8");
        assert_eq!(a.set_masklen(-1, NetKind::Inet).unwrap().to_text(NetKind::Inet), "1.2.3.4");
        let err = v("1.2.3.4").set_masklen(33, NetKind::Inet).unwrap_err();
        assert_eq!((err.sqlstate(), err.to_string().as_str()), ("22023", "invalid mask length: 33"));
        assert!(!v("10.0.0.1").contains(&v("10.0.0.0/8"), false) && v("10.0.0.0/8").contains(&v("10.0.0.1"), false));
        assert!(!v("10.0.0.0/8").contains(&v("10.0.0.0/8"), false) && v("10.0.0.0/8").contains(&v("10.0.0.0/8"), true));
        assert!(v("10.0.0.0/8").contains(&v("10.1.0.0/16"), false));
        assert!(v("10.0.0.0/8").overlaps(&v("10.1.0.0/16")) && v("10.1.0.0/16").overlaps(&v("10.0.0.0/8")));
        assert!(!v("10.0.0.0/8").overlaps(&v("::/0")));
        assert_eq!(v("1.2.3.4").merge(&v("1.2.5.6")).unwrap().to_text(NetKind::Cidr), "1.2.0.0/21");
        assert_eq!(v("10.0.0.0/8").merge(&v("10.1.0.0/16")).unwrap().to_text(NetKind::Cidr), "10.0.0.0/8");
        assert_eq!(v("1.2.3.4").add(-5).unwrap().to_text(NetKind::Inet), "1.2.2.255");
        assert_eq!(v("1.2.3.4/24").add(300).unwrap().to_text(NetKind::Inet), "1.2.4.48/24");
        assert_eq!(v("::1").add(65535).unwrap().to_text(NetKind::Inet), "::0.1.0.0");
        assert_eq!(v("255.255.255.255").add(1).unwrap_err().sqlstate(), "22003");
        assert_eq!(v("0.0.0.0").add(-1).unwrap_err().sqlstate(), "22003");
        assert_eq!(v("1.2.3.4").difference(&v("1.2.4.4")).unwrap(), -256);
        assert_eq!(v("1.2.3.4").difference(&v("::1")).unwrap_err().to_string(), "cannot subtract inet values of different sizes");
        for (input, output) in [
            ("10.1.0.0/16", "10.1/16"),
            ("10.0.0.0/8", "10/8"),
            ("10.1.2.0/24", "10.1.2/24"),
            ("10.0.0.0/12", "10.0/12"),
            ("0.0.0.0/0", "0/0"),
            ("10.0.0.0/7", "10/7"),
            ("10.128.0.0/9", "10.128/9"),
            ("1.2.3.0/24", "1.2.3/24"),
            ("::/0", "::/0"),
            ("2001:db8::/32", "2001:db8/32"),
            ("2001:db8::/33", "2001:db8::/33"),
            ("2001:db8:1::/48", "2001:db8:1/48"),
            ("::1/128", "::1/128"),
            ("ff00::/8", "ff00::/8"),
            ("::/1", "::/1"),
            ("8000::/1", "8000::/1"),
            ("::ffff:1.2.3.0/120", "::ffff:1.2.3/120"),
            ("::1.2.3.0/120", "::1.2.3/120"),
            ("::ffff:1.2.0.0/112", "::ffff:1.2/112"),
            ("1:0:0:0:1::/80", "1::1/80"),
            ("0:0:1::/48", "::1/48"),
            ("::1.2.3.4/128", "::1.2.3.4/128"),
        ] {
            assert_eq!(c(input).abbrev(NetKind::Cidr), output, "{input}");
        }
        assert_eq!(v("1.2.3.4/8").abbrev(NetKind::Inet), "1.2.3.4/8");
    }

    /// PostgreSQL 15's ORDER BY of these values.
    #[test]
    fn sort_keys_order_as_postgresql_does() {
        let sorted = ["9.255.0.0/16", "10.0.0.0/8", "10.0.0.0/16", "10.0.0.1", "::1"];
        let mut keys: Vec<String> = sorted.iter().rev().map(|t| NetAddr::parse(t, NetKind::Inet).unwrap().sort_key()).collect();
        keys.sort();
        let back: Vec<String> = keys.iter().map(|k| NetAddr::from_sort_key(k).unwrap().to_text(NetKind::Inet)).collect();
        assert_eq!(back, sorted);
        let key = |t: &str| NetAddr::parse(t, NetKind::Inet).unwrap().sort_key();
        assert!(key("1.2.3.0/24") < key("1.2.3.4"));
        assert!(key("10.0.0.0/8") < key("10.0.0.0/16"));
    }

    #[test]
    fn binary_format_round_trips() {
        for (text, kind) in [("10.1.2.3/8", NetKind::Inet), ("2001:db8::/32", NetKind::Cidr), ("::1", NetKind::Inet)] {
            let value = NetAddr::parse(text, kind).unwrap();
            let bytes = value.to_binary(kind);
            assert_eq!(NetAddr::from_binary(&bytes), Some(value));
        }
        assert_eq!(NetAddr::parse("10.1.2.3/8", NetKind::Inet).unwrap().to_binary(NetKind::Inet), vec![2, 8, 0, 4, 10, 1, 2, 3]);
        assert_eq!(NetAddr::from_binary(&[2, 33, 0, 4, 1, 2, 3, 4]), None);
        assert_eq!(NetAddr::from_binary(&[2, 8, 0, 4, 1, 2]), None);
    }
}
