import XCTest
import TamasEvents

final class LineFramerTests: XCTestCase {
    func testLineEndsInAnyFragmentation() {
        let input = Array("one\r\ntwo\rthree\nfour\u{0C}five\r\n\r\n".utf8)
        for chunk in [1, 2, 3, 7, input.count] {
            var framer = LineFramer()
            var lines: [String] = []
            var index = 0
            while index < input.count {
                lines += framer.push(Array(input[index..<min(index + chunk, input.count)])).map(\.text)
                index += chunk
            }
            lines += framer.flush().map(\.text)
            XCTAssertEqual(lines, ["one", "two", "three", "four", "five"], "chunk \(chunk)")
        }
    }

    func testLatin1AndOverlongLines() {
        var framer = LineFramer(maxLineBytes: 8)
        let lines = framer.push([0x41, 0xE9, 0x0A] + Array(repeating: 0x42, count: 20) + [0x0A])
        XCTAssertEqual(lines.first?.text, "Aé", "invalid UTF-8 decodes as ISO-8859-1")
        XCTAssertEqual(lines.dropFirst().map(\.truncated), [true, true, false])
        XCTAssertEqual(lines.dropFirst().map(\.text).joined(), String(repeating: "B", count: 20), "nothing lost when cut")
    }
}
