import Foundation
import FuzzHarness

/// Plain (non-fuzzer) runner: `Repro <SMDR|AMI|CallerID|Telsa|JSON|Link> file...` feeds each file to
/// the same harness function the fuzz target uses.
@main
struct Repro {
    static func main() throws {
        let args = CommandLine.arguments.dropFirst()
        guard let target = args.first else {
            FileHandle.standardError.write(Data("usage: Repro <SMDR|AMI|CallerID|Telsa|JSON|Link> file...\n".utf8))
            exit(2)
        }
        for path in args.dropFirst() {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            print("running \(target) on \(path) (\(bytes.count) bytes)")
            guard let run = Harness.targets[target] else {
                print("unknown target \(target); one of \(Harness.targets.keys.sorted().joined(separator: ", "))")
                exit(2)
            }
            run(bytes)
            print("ok")
        }
    }
}
