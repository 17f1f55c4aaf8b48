import Testing
@testable import GoalCLIP

@Test func clipLayerLinks() {
    #expect(GoalError(.invalidArgument, "x").message == "x")
}
