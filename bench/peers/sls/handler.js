// The same inline echo as Switchboard's bench fixture.
exports.echo = async (event) => ({ statusCode: 200, body: event.body });
exports.connect = async () => ({ statusCode: 200 });
