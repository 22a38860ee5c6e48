from gondwana.cli import main

raise SystemExit(main())
