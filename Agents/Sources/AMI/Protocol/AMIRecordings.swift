import TamasEvents

/// Where a call's recording lives on the Asterisk server (FACTS.md section 4).
public enum AMIRecordings {
    /// Channel variables that name a recording, as VarSet events carry them.
    public enum Variable: Sendable {
        /// `MIXMONITOR_FILENAME`: the file MixMonitor writes, absolute or relative to the monitor dir.
        case mixMonitorFilename(String)
        /// FreePBX/Issabel `CALLFILENAME` (no extension; the format comes from `MON_FMT`).
        case callFilename(String)
        /// `CDR(recordingfile)` style: file name with extension, in the dated folder.
        case recordingFile(String)
        case monitorFormat(String)
    }

    /// The spellings dialplans use; checked before any string work because VarSet is the most
    /// frequent event on a FreePBX box and almost never one of these.
    static let spellings: Set<String> = [
        "MIXMONITOR_FILENAME", "__MIXMONITOR_FILENAME", "CALLFILENAME", "_CALLFILENAME", "__CALLFILENAME",
        "recordingfile", "RECORDINGFILE", "CDR(recordingfile)", "__RECORDINGFILE", "MON_FMT", "_MON_FMT", "__MON_FMT",
    ]

    public static func variable(name: String, value: String) -> Variable? {
        guard !value.isEmpty, spellings.contains(name) else { return nil }
        var key = Substring(name)
        while key.first == "_" { key.removeFirst() }
        switch key.uppercased() {
        case "MIXMONITOR_FILENAME": return .mixMonitorFilename(value)
        case "CALLFILENAME": return .callFilename(value)
        case "RECORDINGFILE", "CDR(RECORDINGFILE)": return .recordingFile(value)
        case "MON_FMT": return .monitorFormat(value)
        default: return nil
        }
    }

    /// The full path of a FreePBX/Issabel style file name `<type>-<a>-<b>-YYYYMMDD-HHMMSS-<uniqueid>.<ext>`
    /// under `root/YYYY/MM/DD/`; the date is part 3 of the name split on `-`, as FreePBX's CDR
    /// code reads it. A name whose part 3 is not a date is taken as lying directly in `root`.
    public static func path(forFileName fileName: String, root: String) -> String {
        if fileName.hasPrefix("/") { return fileName }
        let parts = fileName.split(separator: "-", omittingEmptySubsequences: false)
        let base = root.hasSuffix("/") ? String(root.dropLast()) : root
        guard parts.count > 3, parts[3].count == 8, parts[3].allSatisfy(\.isNumber) else { return base + "/" + fileName }
        let date = parts[3]
        let year = date.prefix(4), month = date.dropFirst(4).prefix(2), day = date.suffix(2)
        return "\(base)/\(year)/\(month)/\(day)/\(fileName)"
    }

    /// FreePBX maps `wav49` to `WAV` (MON_FMT); anything else is the file extension as is.
    public static func fileExtension(monitorFormat: String?) -> String {
        guard let format = monitorFormat, !format.isEmpty else { return "wav" }
        return format.lowercased() == "wav49" ? "WAV" : format
    }

    /// Where to look when no event named the file: the dated folder of the call's start (in
    /// the server's local time, which `at` carries as its offset) and the name suffix every
    /// FreePBX/Issabel/Elastix naming ends with. The file fetcher lists the folder and takes the
    /// entry ending in `-<uniqueid>.<ext>`; the flat root is the fallback for old Elastix setups
    /// that did not use dated folders.
    public struct Candidates: Hashable, Sendable {
        public var directories: [String]
        public var fileNameSuffixes: [String]
    }

    public static func candidates(uniqueid: String, at time: Timestamp, root: String) -> Candidates {
        candidates(uniqueids: [uniqueid], at: time, root: root)
    }

    /// The same for a call known under several ids (its Linkedid, the Uniqueid of the channel
    /// that ran the recording macro): suffixes of the first id come first, so it wins when a
    /// folder holds files for more than one of them.
    public static func candidates(uniqueids: [String], at time: Timestamp, root: String) -> Candidates {
        let base = root.hasSuffix("/") ? String(root.dropLast()) : root
        let localSeconds = time.epochSeconds + Int64(time.offsetSeconds)
        let (year, month, day) = CivilCalendar.civil(fromDays: localSeconds.floorDividing(86_400))
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var seen: Set<String> = []
        let ids = uniqueids.filter { !$0.isEmpty && seen.insert($0).inserted }
        return Candidates(
            directories: ["\(base)/\(year)/\(two(month))/\(two(day))", base],
            fileNameSuffixes: ids.flatMap { id in ["wav", "WAV", "mp3", "gsm"].map { "-\(id).\($0)" } }
        )
    }

    /// `recording.available` for a call whose recording is at `path`; the id depends only on the
    /// call and the path, so whichever way the path was found, and however often, it is one event.
    static func availableEvent(systemKey: String, callId: String, line: String?, startedAt: Timestamp, durationSec: Int?,
                               path: String, at: Timestamp) -> CallEvent {
        CallEvent(
            eventId: StableID.make(systemKey, "ami", callId, "recording.available", path),
            type: .recordingAvailable, systemKey: systemKey, source: SourceName.ami.rawValue, at: at,
            callId: callId, line: line, startedAt: startedAt, durationSec: durationSec, ref: path, format: format(ofPath: path))
    }

    public static func format(ofPath path: String) -> String? {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        return String(path[path.index(after: dot)...]).lowercased()
    }
}

extension Int64 {
    func floorDividing(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
