import SMDRProtocol
import TamasEvents
import XCTest

/// The TCP login dialogue of FACTS.md section 2, driven byte by byte and by the clock.
final class SMDRLoginStateMachineTests: XCTestCase {
    private let start = Timestamp(epochMillis: 1_800_000_000_000)

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func testRightPasswordLogsInAndHandsOverTheFirstRecords() {
        var login = SMDRLoginStateMachine(connectedAt: start)
        XCTAssertEqual(login.receive(bytes("\r-"), now: start), [.send(bytes("SMDR\r"))])
        XCTAssertEqual(login.receive(bytes("SMDR\r\nEnter Pass"), now: start), [])
        XCTAssertEqual(login.receive(bytes("word:"), now: start), [.send(bytes("PCCSMDR\r"))])
        XCTAssertEqual(login.state, .verifying)
        let record = "07/12/20 11:00    401 05 <I>234               00:00'12 EU00000.00               \r\n"
        XCTAssertEqual(login.receive(bytes("*******\r\n" + record), now: start), [.loggedIn(leftover: bytes(record))])
        XCTAssertEqual(login.state, .streaming)
        XCTAssertEqual(login.receive(bytes("more"), now: start), [], "after login the decoder owns the bytes")
    }

    func testIdlePBXAfterThePasswordIsTakenAsSuccess() {
        var login = SMDRLoginStateMachine(configuration: .init(password: "smdr"), connectedAt: start)
        _ = login.receive(bytes("-"), now: start)
        XCTAssertEqual(login.receive(bytes("Enter Password:"), now: start), [.send(bytes("smdr\r"))])
        XCTAssertEqual(login.receive(bytes("smdr\r\n"), now: start), [])
        XCTAssertEqual(login.tick(now: start.adding(seconds: 1)), [])
        XCTAssertEqual(login.tick(now: start.adding(seconds: 2)), [.loggedIn(leftover: [])])
    }

    func testWrongPasswordIsRejected() {
        var login = SMDRLoginStateMachine(connectedAt: start)
        _ = login.receive(bytes("-"), now: start)
        _ = login.receive(bytes("Enter Password:"), now: start)
        XCTAssertEqual(login.receive(bytes("*******\r\nRejected\r\n"), now: start), [.rejected(reason: "SMDR login rejected")])
        XCTAssertEqual(login.state, .rejected)
        XCTAssertEqual(login.tick(now: start.adding(seconds: 60)), [])
    }

    func testRejectedBeforeThePrompt() {
        var login = SMDRLoginStateMachine(connectedAt: start)
        XCTAssertEqual(login.receive(bytes("Rejected"), now: start), [.rejected(reason: "SMDR login rejected")])
    }

    func testConnectionDroppedMidLogin() {
        var login = SMDRLoginStateMachine(connectedAt: start)
        _ = login.receive(bytes("-"), now: start)
        XCTAssertEqual(login.connectionClosed(),
                       [.disconnected(reason: "connection closed during SMDR login (awaitingPasswordPrompt)")])
        XCTAssertEqual(login.connectionClosed(), [])
    }

    func testSilenceTimesOutInEachWaitingState() {
        var silent = SMDRLoginStateMachine(connectedAt: start)
        XCTAssertEqual(silent.tick(now: start.adding(seconds: 9)), [])
        XCTAssertEqual(silent.tick(now: start.adding(seconds: 10)),
                       [.timedOut(reason: "SMDR login timed out waiting for the '-' prompt")])
        var noPasswordPrompt = SMDRLoginStateMachine(connectedAt: start)
        _ = noPasswordPrompt.receive(bytes("-"), now: start.adding(seconds: 5))
        XCTAssertEqual(noPasswordPrompt.tick(now: start.adding(seconds: 14)), [], "the deadline restarts per state")
        XCTAssertEqual(noPasswordPrompt.tick(now: start.adding(seconds: 15)),
                       [.timedOut(reason: "SMDR login timed out waiting for 'Enter Password:'")])
        XCTAssertEqual(noPasswordPrompt.state, .timedOut)
    }

    /// As the socket adapter does it: once logged in, every further byte goes to the decoder.
    func testByteByByteFragmentationGivesTheSameDialogue() {
        var login = SMDRLoginStateMachine(connectedAt: start)
        var sent: [[UInt8]] = []
        var decoderBytes: [UInt8] = []
        for byte in bytes("\r-SMDR\r\nEnter Password:*******\r\nX\r\n") {
            guard !login.isFinished else { decoderBytes.append(byte); continue }
            for action in login.receive([byte], now: start) {
                switch action {
                case .send(let bytes): sent.append(bytes)
                case .loggedIn(let leftover): decoderBytes += leftover
                default: XCTFail("unexpected \(action)")
                }
            }
        }
        XCTAssertEqual(sent, [bytes("SMDR\r"), bytes("PCCSMDR\r")])
        XCTAssertEqual(decoderBytes, bytes("X\r\n"))
    }
}
