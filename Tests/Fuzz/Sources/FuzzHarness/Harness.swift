import AMIProtocol
import CallerIDProtocol
import Foundation
import JSONLProtocol
import SMDRProtocol
import TamasEvents
import TelsaProtocol

/// Deterministic chunking / clock decisions from a seed byte taken from the input.
struct Rng {
    var state: UInt64
    init(_ seed: UInt8) { state = 0x9E37_79B9_7F4A_7C15 &* (UInt64(seed) &+ 1) }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Splits `body` into chunks of 1...maxChunk bytes (sizes from `rng`).
func chunks(_ body: ArraySlice<UInt8>, _ rng: inout Rng, maxChunk: Int = 80) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var offset = body.startIndex
    while offset < body.endIndex {
        let end = min(body.endIndex, offset + 1 + rng.below(maxChunk))
        out.append(Array(body[offset..<end]))
        offset = end
    }
    return out
}

/// Hands each chunk to `receive` at `now`. After a chunk, one time in `odds` the clock jumps by up
/// to `maxJump` seconds and `tick` runs, one time in `odds` it moves by a second: timers and
/// sweeps run on fuzzed state.
func feed(_ chunks: [[UInt8]], _ rng: inout Rng, now: inout Timestamp, odds: Int, maxJump: Int,
          receive: ([UInt8], Timestamp) -> Void, tick: (Timestamp) -> Void) {
    for chunk in chunks {
        receive(chunk, now)
        switch rng.below(odds) {
        case 0:
            now = now.adding(seconds: rng.below(maxJump))
            tick(now)
        case 1: now = now.adding(seconds: 1)
        default: break
        }
    }
}

public enum Harness {
    /// The targets by the names `deploy/fuzz.sh`, the fuzzer (`TAMAS_FUZZ_TARGET`) and Repro use.
    public static let targets: [String: @Sendable ([UInt8]) -> Void] = [
        "SMDR": fuzzSMDR, "AMI": fuzzAMI, "CallerID": fuzzCallerID, "Telsa": fuzzTelsa, "JSON": fuzzJSON, "Link": fuzzLink,
    ]

    /// FUZZ_STRICT=1: also trap on contract violations (event.validate() failures, broken
    /// round trips). Off by default so the campaign only stops on real crashes.
    static let strict = ProcessInfo.processInfo.environment["FUZZ_STRICT"] != nil

    static func check(_ events: [CallEvent], _ context: @autoclosure () -> String) {
        // What every agent does with an event next: format its times (ISO 8601) for the wire.
        for event in events {
            _ = event.at.iso8601
            _ = event.startedAt?.iso8601
            _ = event.answeredAt?.iso8601
            _ = event.endedAt?.iso8601
        }
        guard strict else { return }
        for event in events {
            do { try event.validate() } catch { fatalError("STRICT \(context()): invalid event \(event): \(error)") }
        }
    }

    static let start = Timestamp(epochMillis: 1_800_000_000_000)

    // MARK: - SMDR

    public static func fuzzSMDR(_ input: [UInt8]) {
        guard input.count >= 3 else { return }
        if input[0] == 0xFF { return fuzzSMDRLogin(input) }
        let models = SMDRModel.allCases
        let model = models[Int(input[0]) % models.count]
        let flags = input[1]
        let zones = ["UTC", "Asia/Tehran", "Europe/Rome", "America/New_York", "Australia/Lord_Howe", "Not/AZone",
                     "Pacific/Kiritimati", "America/Sao_Paulo"]
        let plan = flags & 0x40 != 0 ? NumberPlan(releaseCode: "9", countryCode: "39", cityCode: "2") : NumberPlan()
        let small = flags & 0x80 != 0
        let settings = SMDRSettings(
            systemKey: "fuzz", model: model, dateFormat: SMDRDateOrder.allCases[Int(flags & 3)],
            timeZone: zones[Int(flags >> 3) & 7], numberPlan: plan, ignoredExtensions: ["601", "100"],
            ignoreZeroDuration: flags & 4 != 0, groupWindowSeconds: small ? 5 : 600,
            groupToleranceSeconds: small ? 0 : 30, linkRetentionSeconds: small ? 60 : 4 * 3600)
        var rng = Rng(input[2])
        var decoder = SMDRDecoder(settings: settings)
        var now = start
        feed(chunks(input[3...], &rng), &rng, now: &now, odds: 8, maxJump: 900,
             receive: { check(decoder.receive($0, now: $1), "receive") }, tick: { check(decoder.tick(now: $0), "tick") })
        // Restart: the open calls' lines fed to a fresh decoder.
        let open = decoder.openCallLines()
        var restarted = SMDRDecoder(settings: settings)
        for line in open { check(restarted.receive(line: line, now: now), "replay") }
        _ = restarted.openCallLines()
        now = now.adding(seconds: 5 * 3600)
        check(decoder.tick(now: now), "late tick")
        check(decoder.finish(now: now), "finish")
        check(restarted.tick(now: now), "restarted tick")
        check(restarted.finish(now: now), "restarted finish")
        // The line parser on its own, line by line (parse(_:) is the public entry used by tests).
        var framer = LineFramer()
        for line in framer.push(Array(input[3...])) + framer.flush() { _ = SMDRLineParser.parse(line.text) }
    }

    static func fuzzSMDRLogin(_ input: [UInt8]) {
        var rng = Rng(input[1])
        var now = start
        var login = SMDRLoginStateMachine(
            configuration: .init(password: "PCCSMDR", lineEnding: input[2] & 1 == 0 ? "\r" : "\r\n"), connectedAt: now)
        for chunk in chunks(input[3...], &rng, maxChunk: 16) {
            _ = login.receive(chunk, now: now)
            if rng.below(4) == 0 { now = now.adding(seconds: rng.below(5)); _ = login.tick(now: now) }
        }
        _ = login.tick(now: now.adding(seconds: 60))
        _ = login.connectionClosed()
    }

    // MARK: - AMI

    public static func fuzzAMI(_ input: [UInt8]) {
        guard input.count >= 3 else { return }
        let f0 = input[0], f1 = input[1]
        var settings = AMISettings(
            systemKey: "fuzz", username: "admin", secret: "secret", authentication: f0 & 0x10 != 0 ? .md5 : .plain,
            version: AMIVersionSetting.allCases[Int((f0 >> 1) & 7) % AMIVersionSetting.allCases.count],
            channelTechnology: AMIChannelTechnology.allCases[Int(f0 >> 5) % AMIChannelTechnology.allCases.count],
            recordingEnabled: f1 & 1 == 0, searchRecordingsByUniqueid: f1 & 2 != 0,
            ignoredEvents: f1 & 4 != 0 ? [] : AMISettings.defaultIgnoredEvents,
            staleCallHours: f1 & 8 != 0 ? 1 : 12, maxTrackedChannels: f1 & 0x10 != 0 ? 3 : 20_000)
        if f1 & 0x20 != 0 { settings.numberPlan = NumberPlan(releaseCode: "9", countryCode: "1", cityCode: "212") }
        var rng = Rng(input[2])
        // The agent's clock carries the PBX zone's offset (Asia/Tehran +03:30 in the tests).
        let offsets: [Int32] = [0, 12_600, -18_000, 50_400]
        var now = Timestamp(epochMillis: start.epochMillis, offsetSeconds: offsets[Int(f1 >> 6)])
        if f0 & 1 == 0 {
            var stream = AMIEventStream(settings: settings)
            feed(chunks(input[3...], &rng, maxChunk: 200), &rng, now: &now, odds: 8, maxJump: 4000,
                 receive: { check(stream.receive($0, now: $1), "receive") }, tick: { check(stream.tick(now: $0), "tick") })
            now = now.adding(seconds: 13 * 3600)
            check(stream.tick(now: now), "late tick")
            check(stream.finish(now: now), "finish")
        } else {
            var client = AMIClientStateMachine(settings: settings, jitter: SplitMix64(seed: 7))
            _ = client.connected(now: now)
            for chunk in chunks(input[3...], &rng, maxChunk: 200) {
                let outputs = client.receive(chunk, now: now)
                for case .events(let events) in outputs { check(events, "client receive") }
                switch rng.below(16) {
                case 0:
                    now = now.adding(seconds: rng.below(40))
                    _ = client.tick(now: now)
                case 1: now = now.adding(seconds: 1)
                case 2: _ = client.send(AMIActions.command("core show channels"), now: now)
                case 3:
                    if let call = try? client.clickToCall(userExtension: "201", number: "09121234567", autoAnswer: rng.below(2) == 0) {
                        _ = client.send(call, now: now)
                    }
                case 4:
                    if let spy = try? client.spy(AMISpyMode.allCases[rng.below(AMISpyMode.allCases.count)],
                                                 supervisor: "200", target: "201") {
                        _ = client.send(spy, now: now)
                    }
                case 5 where rng.below(4) == 0:
                    _ = client.connectionClosed(now: now)
                    now = now.adding(seconds: 60)
                    _ = client.tick(now: now)
                    _ = client.connected(now: now)
                default: break
                }
            }
            now = now.adding(seconds: 13 * 3600)
            _ = client.tick(now: now)
            _ = client.connectionClosed(now: now)
        }
    }

    // MARK: - Caller ID

    public static func fuzzCallerID(_ input: [UInt8]) {
        guard input.count >= 3 else { return }
        let f0 = input[0]
        let proto = CallerIDProtocol.allCases[Int(f0 & 3) % CallerIDProtocol.allCases.count]
        let settings = CallerIDSettings(
            systemKey: "fuzz", protocol: proto,
            numberPlan: f0 & 4 != 0 ? NumberPlan(releaseCode: "9", cityCode: "21") : NumberPlan(),
            ringTimeoutSeconds: f0 & 8 != 0 ? 1 : 10, callerIDWaitRings: f0 & 0x10 != 0 ? 1 : 3,
            segalDurationFormat: f0 & 0x20 != 0 ? .seconds : .minutesSeconds)
        var rng = Rng(input[1])
        var now = Timestamp(epochMillis: start.epochMillis, offsetSeconds: f0 & 0x80 != 0 ? 12_600 : 0)
        if f0 & 0x40 != 0 {
            // Saved open-call state read back (what an agent restores after a restart).
            guard let saved = CallerIDOpenCalls(encoded: String(decoding: input[2...], as: UTF8.self), protocol: proto) else { return }
            var decoder = CallerIDDecoder(settings: settings)
            check(decoder.resume(saved, now: now), "resume fuzzed")
            _ = decoder.openCalls().encoded
            check(decoder.finish(now: now.adding(seconds: 3600)), "finish")
            return
        }
        var decoder = CallerIDDecoder(settings: settings)
        _ = decoder.portOpened(now: now)
        feed(chunks(input[2...], &rng, maxChunk: 40), &rng, now: &now, odds: 6, maxJump: 30,
             receive: { chunk, now in
                 check(decoder.receive(chunk, now: now), "receive")
                 _ = decoder.takeBytesToWrite()
             },
             tick: { check(decoder.tick(now: $0), "tick") })
        let open = decoder.openCalls()
        let encoded = open.encoded
        let decoded = CallerIDOpenCalls(encoded: encoded, protocol: proto)
        if strict, decoded != open { fatalError("STRICT: openCalls round trip differs: \(open) vs \(String(describing: decoded))") }
        var restarted = CallerIDDecoder(settings: settings)
        check(restarted.resume(decoded ?? open, now: now), "resume")
        now = now.adding(seconds: 3600)
        check(decoder.finish(now: now), "finish")
        check(restarted.finish(now: now), "restarted finish")
    }

    // MARK: - Telsa

    public static func fuzzTelsa(_ input: [UInt8]) {
        guard input.count >= 2 else { return }
        let zones = ["Asia/Tehran", "UTC", "Europe/London", "America/Havana"]
        let zoneName = zones[Int(input[0] & 3)]
        let zone = TimeZone(identifier: zoneName) ?? TimeZone(secondsFromGMT: 0)!
        let tail = Array(input[1...])
        if case .success(let trailer) = TelsaTrailer.parse(tail: tail, timeZone: zone) {
            _ = (trailer.startedAt, trailer.channel, trailer.number, trailer.fileName, trailer.callWindowStatus,
                 trailer.callType, trailer.text, trailer.countMismatch)
        }
        let mode: TelsaMode = input[0] & 4 != 0 ? .folder : .full
        var tracker = TelsaFolderTracker(settings: TelsaSettings(
            systemKey: "fuzz", mode: mode, settleSeconds: 0, archiveSettleSeconds: 0,
            lineMapping: TelsaLineMapping(["1": "101"]), timeZoneIdentifier: zoneName))
        let path = mode == .full ? "Archive/1/rec.wav" : "record/rec.wav"
        let file = TelsaFileSnapshot(path: path, size: Int64(tail.count), modifiedAt: start)
        let requests = tracker.observe([file], now: start) + tracker.observe([file], now: start.adding(seconds: 30))
        for request in requests { check(tracker.acceptTail(path: request.path, bytes: Array(tail.suffix(max(0, request.bytes)))), "telsa") }
        _ = TelsaRecordingRef(encoded: String(decoding: tail, as: UTF8.self))
    }

    // MARK: - JSON (JSONL decoder, FastJSONReader via EventJSON/CallRecordJSON, Timestamp, NumberPlan)

    public static func fuzzJSON(_ input: [UInt8]) {
        guard input.count >= 2 else { return }
        let body = Array(input[2...])
        var rng = Rng(input[1])
        switch input[0] & 3 {
        case 0:
            var decoder = JSONLDecoder(systemKey: "fuzz")
            for chunk in chunks(body[...], &rng, maxChunk: 120) { check(decoder.receive(chunk, now: start), "jsonl") }
            check(decoder.finish(now: start), "jsonl finish")
        case 1:
            let json = EventJSON()
            for line in body.split(separator: 0x0A, omittingEmptySubsequences: true) {
                if let event = try? json.decode(Data(line)) {
                    if let again = try? json.encode(event), strict {
                        guard let back = try? json.decode(again), back == event else {
                            fatalError("STRICT: CallEvent JSON round trip differs for \(event)")
                        }
                    }
                }
            }
        case 2:
            let json = CallRecordJSON()
            for line in body.split(separator: 0x0A, omittingEmptySubsequences: true) {
                if let call = try? json.decode(Data(line)) {
                    let again = json.encode(call)
                    if strict {
                        guard let back = try? json.decode(again), back == call else {
                            fatalError("STRICT: CallRecord JSON round trip differs for \(call)")
                        }
                    }
                }
            }
        default:
            let text = String(decoding: body, as: UTF8.self)
            _ = Timestamp(iso8601: text)
            for plan in [NumberPlan(), NumberPlan(releaseCode: "9", countryCode: "1", cityCode: "212", nationalPrefix: "1", internationalPrefix: "011", maxExtensionLength: 9)] {
                for direction in Direction.allCases {
                    if let normalized = plan.normalize(text, direction: direction) { _ = plan.national(normalized) }
                }
            }
        }
    }
}
