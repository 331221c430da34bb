from evalsuite.cli.main import main

raise SystemExit(main())
