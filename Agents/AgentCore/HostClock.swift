import Foundation
import TamasEvents

/// The current instant at the host's UTC offset.
///
/// The offset comes from the C library (TZ, else /etc/localtime: what `TimeZone.current` follows
/// too). Foundation answers `TimeZone.current` through ICU, and its first use maps ICU's code and
/// zone data into the process for good: 1.3 MB of an idle agent's peak RSS for one number.
public enum HostClock {
    public static func now() -> Timestamp {
        let date = Date()
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var local = tm()
        guard localtime_r(&seconds, &local) != nil else { return Timestamp(date: date) }
        return Timestamp(date: date, offsetSeconds: Int32(local.tm_gmtoff))
    }
}
