"""The to-do inbox (我的待办) and each role's home: what waits on the signed-in user, contributed by each domain."""
