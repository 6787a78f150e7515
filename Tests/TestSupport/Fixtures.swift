import Foundation
import XCTest

/// Where the repository and the shared fixtures are, found from this file's real location so
/// it works from the main package, from a symlinked scratch package and from CI's fresh clone
/// (which has `shared/` beside the checkout).
public enum Fixtures {
    public static let repositoryRoot: URL = {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    public static let sharedFixtures: URL = repositoryRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures")

    public static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: sharedFixtures.appendingPathComponent(relativePath))
    }

    public static func testFile(_ relativePath: String) -> URL {
        repositoryRoot.appendingPathComponent("Tests").appendingPathComponent(relativePath)
    }
}

/// Compares `actual` with a checked-in expected file. `TAMAS_UPDATE_GOLDEN=1` rewrites the file
/// instead, which is how expected output is first produced and then reviewed in the diff.
public func assertGolden(_ actual: String, path relativePath: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let url = Fixtures.testFile(relativePath)
    if ProcessInfo.processInfo.environment["TAMAS_UPDATE_GOLDEN"] == "1" {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try actual.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        XCTFail("no golden file at Tests/\(relativePath); run with TAMAS_UPDATE_GOLDEN=1 and review it", file: file, line: line)
        return
    }
    if expected != actual {
        let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let firstDifference = zip(expectedLines, actualLines).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(expectedLines.count, actualLines.count)
        XCTFail("""
            output differs from Tests/\(relativePath) at line \(firstDifference + 1):
            expected: \(firstDifference < expectedLines.count ? String(expectedLines[firstDifference]) : "<end>")
            actual:   \(firstDifference < actualLines.count ? String(actualLines[firstDifference]) : "<end>")
            """, file: file, line: line)
    }
}
