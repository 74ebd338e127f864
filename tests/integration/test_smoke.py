from tests.world import PASSWORD, build_world


def test_first_sync_brings_my_scope(live_server, make_device):
    world = build_world(live_server.engine)
    device = make_device(live_server)
    device.login("M1", PASSWORD)
    progress = device.sync()
    assert progress.phase == "done", progress
    expected = {p["id"] for p in world.prospects_of("M1") + world.pool(world.outlet_a)}
    assert device.ids() == expected
    assert progress.snapshot_complete
