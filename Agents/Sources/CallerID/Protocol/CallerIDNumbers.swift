import TamasEvents

/// Numbers as the boxes print them, normalized with the system's NumberPlan.
///
/// Iranian boxes print some caller numbers without the national `0` (`L1C9123951418@` in the
/// PayamGostar screenshot) or with the bare country code (`98…`); YasnaSDK repairs both before
/// use. NumberPlan alone would read `9123951418` as a local number and prefix the city code,
/// so these two repairs run first, and only when the plan's country is Iran (98).
struct CallerIDNumbers: Sendable {
    let plan: NumberPlan

    func normalize(_ raw: String, direction: Direction) -> String? {
        plan.normalize(repaired(raw, direction: direction), direction: direction)
    }

    private func repaired(_ raw: String, direction: Direction) -> String {
        guard direction == .inbound, plan.countryCode == "98", raw.allSatisfy(\.isASCIIDigit) else { return raw }
        if raw.count == 10, raw.hasPrefix("9") { return plan.nationalPrefix + raw }
        if raw.count == 12, raw.hasPrefix("98") { return "+" + raw }
        return raw
    }
}
