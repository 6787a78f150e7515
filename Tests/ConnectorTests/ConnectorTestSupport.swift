import ConnectorKit
import Foundation
import TamasEvents
import XCTest

func time(_ iso: String) -> Timestamp {
    guard let value = Timestamp(iso8601: iso) else { preconditionFailure("bad test timestamp \(iso)") }
    return value
}

func ok(_ json: String = "{}", status: Int = 200) -> HTTPOutcome {
    .response(HTTPResponse(status: status, headers: [HTTPHeader("Content-Type", "application/json")], body: Data(json.utf8)))
}

func status(_ code: Int, _ body: String = "", headers: [HTTPHeader] = []) -> HTTPOutcome {
    .response(HTTPResponse(status: code, headers: headers, body: Data(body.utf8)))
}

/// Builds the events of one call the way an agent would and folds them like the collector does.
struct CallScript {
    let systemKey: String
    let callId: String
    private(set) var record: CallRecord?

    init(systemKey: String = "TEH-PBX", callId: String) {
        self.systemKey = systemKey
        self.callId = callId
    }

    mutating func event(_ type: EventType, at iso: String, _ fill: (inout CallEvent) -> Void = { _ in }) -> (event: CallEvent, call: CallRecord) {
        var event = CallEvent(eventId: StableID.make(callId, type.rawValue, iso), type: type, systemKey: systemKey,
                              source: "ami", at: time(iso), callId: callId)
        fill(&event)
        record = CallAssembler.apply(event, to: record)
        guard let record else { preconditionFailure("a call event always yields a record") }
        return (event, record)
    }

    mutating func attach(_ recording: RecordingLink) -> CallRecord {
        guard let current = record else { preconditionFailure("attach after the call exists") }
        let updated = CallAssembler.attach(recording, to: current)
        record = updated
        return updated
    }
}

struct Drive<CallState: Hashable & Sendable, Session: Hashable & Sendable> {
    var requests: [HTTPRequestPlan]
    var action: ConnectorAction<CallState, Session>

    var callState: CallState? {
        switch action {
        case .send: nil
        case .done(let state, _), .retry(_, _, let state, _), .authFailed(_, let state, _), .rejected(_, _, _, let state, _): state
        }
    }

    var session: Session? {
        switch action {
        case .send: nil
        case .done(_, let session), .retry(_, _, _, let session), .authFailed(_, _, let session), .rejected(_, _, _, _, let session): session
        }
    }

    var isDone: Bool { if case .done = action { true } else { false } }
}

/// Runs a delivery against scripted outcomes, failing if the script is too short or too long.
func drive<Machine: CRMConnector>(_ machine: Machine, _ outcomes: [HTTPOutcome], now: Timestamp,
                                  file: StaticString = #filePath, line: UInt = #line) -> Drive<Machine.CallState, Machine.Session> {
    var machine = machine
    var requests: [HTTPRequestPlan] = []
    var action = machine.start(now: now)
    var remaining = outcomes[...]
    while case .send(let plan) = action {
        requests.append(plan)
        guard let outcome = remaining.popFirst() else {
            XCTFail("the machine sent request #\(requests.count) (\(plan)) but the script has no more responses", file: file, line: line)
            break
        }
        action = machine.received(outcome, now: now)
    }
    XCTAssertTrue(remaining.isEmpty, "\(remaining.count) scripted response(s) were never asked for", file: file, line: line)
    return Drive(requests: requests, action: action)
}

func jsonObject(_ data: Data) -> NSDictionary? {
    (try? JSONSerialization.jsonObject(with: data)) as? NSDictionary
}

/// Asserts one request exactly: method, path, the given headers and the whole JSON body.
func assertJSONRequest(_ plan: HTTPRequestPlan?, _ method: HTTPMethod, _ path: String, bearer: String? = nil,
                       body expected: [String: Any]?, file: StaticString = #filePath, line: UInt = #line) {
    guard let plan else { return XCTFail("missing request \(method.rawValue) \(path)", file: file, line: line) }
    XCTAssertEqual(plan.method, method, "method of \(path)", file: file, line: line)
    XCTAssertEqual(plan.path, path, file: file, line: line)
    if let bearer {
        XCTAssertEqual(plan.header("Authorization"), "Bearer \(bearer)", "token of \(path)", file: file, line: line)
    }
    guard let expected else {
        XCTAssertTrue(plan.body.isEmpty, "\(path) should have no body", file: file, line: line)
        return
    }
    XCTAssertEqual(plan.header("Content-Type"), "application/json", file: file, line: line)
    guard let actual = jsonObject(plan.body) else {
        return XCTFail("\(path) body is not a JSON object: \(String(decoding: plan.body, as: UTF8.self))", file: file, line: line)
    }
    let expectedObject = expected as NSDictionary
    if actual != expectedObject {
        let keys = Set(actual.allKeys.compactMap { $0 as? String }).union(expected.keys).sorted()
        let differences = keys.compactMap { key -> String? in
            let have = actual[key].map { "\($0)" } ?? "<absent>"
            let want = expectedObject[key].map { "\($0)" } ?? "<absent>"
            return have == want ? nil : "\(key): sent \(have), expected \(want)"
        }
        XCTFail("\(method.rawValue) \(path) body differs: \(differences.joined(separator: "; "))", file: file, line: line)
    }
}

func formFields(_ data: Data) -> [(String, String)] {
    String(decoding: data, as: UTF8.self).split(separator: "&").map { pair in
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        func decode(_ text: Substring) -> String {
            text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
        }
        return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
    }
}
