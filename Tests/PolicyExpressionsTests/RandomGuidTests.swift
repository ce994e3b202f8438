import Foundation
import Testing
@testable import PolicyExpressions

@Suite struct RandomGuidTests {
    @Test func versionFourRFC4122AndUnique() {
        var seen = Set<UUID>()
        for _ in 0..<2_000 {
            let guid = RandomGuid.make()
            let text = guid.uuidString
            // xxxxxxxx-xxxx-4xxx-[89AB]xxx-xxxxxxxxxxxx
            let characters = Array(text)
            #expect(characters[14] == "4")
            #expect("89AB".contains(characters[19]))
            seen.insert(guid)
        }
        #expect(seen.count == 2_000)
    }
}
