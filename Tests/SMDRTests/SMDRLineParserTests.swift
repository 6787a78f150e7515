import XCTest
@testable import SMDRSource

final class SMDRLineParserTests: XCTestCase {
    func testPlaceholder() {
        XCTAssertNotNil(SMDRLineParser.parse("07/12/20 11:00    401 05 <I>234               00:00'12 EU00000.00               "))
    }
}
